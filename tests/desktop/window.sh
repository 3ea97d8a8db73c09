#!/usr/bin/env bash
# The real desktop window under Xvfb, driven through WebDriver (tauri-driver +
# WebKitWebDriver): sidebar, IPC, a domain created through the UI, and a screenshot in
# $TARGET/desktop/window.png. Fresh data folder and keyring for every run. The app's SMTP
# listeners go on free loopback ports (POSTDESK_SMTP_LISTEN & co.; the test reads the bound
# ports through the smtp_status command), never on the default 2525/2587/2465.
#   tests/desktop/window.sh             (installs missing Debian packages and tauri-driver)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_packages
ensure_tauri_driver
ensure_ui
# POSTDESK_APP=path/to/postdesk-app tests the given binary instead of building one.
if [ -n "${POSTDESK_APP:-}" ]; then APP_BIN=$POSTDESK_APP; else build_app; fi
# The headless server the window adds as a remote backend over TLS.
export POSTDESK_BIN=${POSTDESK_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/postdesk}
[ -x "$POSTDESK_BIN" ] || cargo build -p postdesk-cli
mkdir -p "$OUT"
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
fresh_home
trap 'rm -rf "$FRESH"' EXIT
PORT=${WEBDRIVER_PORT:-4444}
NATIVE_PORT=${WEBDRIVER_NATIVE_PORT:-4445}
export POSTDESK_APP=$APP_BIN OUT_DIR=$OUT WEBDRIVER_URL=http://127.0.0.1:$PORT
export TAURI_DRIVER PORT NATIVE_PORT ROOT POSTDESK_BIN
export POSTDESK_SMTP_LISTEN=127.0.0.1:0 POSTDESK_SUBMISSION_LISTEN=127.0.0.1:0 POSTDESK_SMTPS_LISTEN=127.0.0.1:0
log "window test (xvfb-run, dbus-run-session, tauri-driver on :$PORT)"
status=0
xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- bash -c '
  echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  "$TAURI_DRIVER" --port "$PORT" --native-port "$NATIVE_PORT" --native-driver /usr/bin/WebKitWebDriver \
    >"$OUT_DIR/tauri-driver.log" 2>&1 &
  driver=$!
  node "$ROOT/tests/desktop/window.mjs"; rc=$?
  kill "$driver" 2>/dev/null; wait "$driver" 2>/dev/null
  exit $rc
' || status=$?
exit $status
