#!/usr/bin/env bash
# The keyring test against a real Secret Service: gnome-keyring in a private D-Bus
# session, unlocked with a throw-away password, in a throw-away HOME.
#   tests/desktop/keyring.sh            (installs missing Debian packages first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages
ensure_ui
cd "$ROOT"
# Build before HOME changes (cargo and rustup live in the real HOME).
cargo test -p postdesk-app --test keyring --no-run
CARGO_BIN=$(command -v cargo)
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
fresh_home
trap 'rm -rf "$FRESH"' EXIT
log "keyring test in dbus-run-session + gnome-keyring-daemon"
dbus-run-session -- sh -c "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && \
  '$CARGO_BIN' test -p postdesk-app --test keyring -- --ignored"
