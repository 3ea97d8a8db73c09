#!/usr/bin/env bash
# Builds and opens the Postdesk desktop app on Debian (12 or later), installing the
# Debian packages it needs when they are missing (via sudo unless run as root).
#   scripts/run-desktop.sh             debug build (quicker to build)
#   scripts/run-desktop.sh --release   optimised build
# Needs: a Rust toolchain (rustup) and Node.js >= 20.19 with npm. Honours CARGO_TARGET_DIR.
# The data folder is ~/.local/share/dev.postdesk.app (the same one `postdesk` uses).
set -euo pipefail
source "$(dirname "$0")/../tests/desktop/lib.sh"
release=""
[ "${1:-}" = "--release" ] && release="--release"
ensure_packages
ensure_ui
build_app $release
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "Built $APP_BIN, but there is no display (DISPLAY/WAYLAND_DISPLAY unset) to open it on." >&2
  exit 1
fi
log "starting $APP_BIN"
exec "$APP_BIN"
