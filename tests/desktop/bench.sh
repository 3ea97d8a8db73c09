#!/usr/bin/env bash
# Desktop figures (not a test): cold start to the first rendered page (WebDriver session
# start -> sidebar entry present), idle memory of the app after the page settles (RSS
# from /proc, the app process and its WebKit children), and the release binary's size.
#   tests/desktop/bench.sh [runs]      (default 5 runs of the release build, each with a
#                                       fresh data folder; BENCH_PROFILE=debug times the
#                                       debug build instead; the size is always release's)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${1:-5}
PROFILE=${BENCH_PROFILE:-release}
ensure_packages
ensure_tauri_driver
ensure_ui
build_app --release
RELEASE_BIN=$APP_BIN
if [ "$PROFILE" = debug ]; then build_app; else APP_BIN=$RELEASE_BIN; fi
mkdir -p "$OUT"
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
REAL_HOME=$HOME
export TAURI_DRIVER ROOT POSTDESK_APP=$APP_BIN OUT_DIR=$OUT MODE=bench
PORT=${WEBDRIVER_PORT:-4444}
export PORT WEBDRIVER_URL=http://127.0.0.1:$PORT
: >"$OUT/bench.log"
for i in $(seq "$RUNS"); do
  HOME=$REAL_HOME
  fresh_home
  xvfb-run -a -s "-screen 0 1280x900x24" dbus-run-session -- bash -c '
    echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$TAURI_DRIVER" --port "$PORT" --native-driver /usr/bin/WebKitWebDriver >/dev/null 2>&1 &
    driver=$!
    node "$ROOT/tests/desktop/window.mjs"; rc=$?
    kill "$driver" 2>/dev/null; wait "$driver" 2>/dev/null
    exit $rc
  ' | tee -a "$OUT/bench.log"
  rm -rf "$FRESH"
done
node -e '
  const fs = require("fs");
  const runs = fs.readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("BENCH "))
    .map((l) => JSON.parse(l.slice(6)));
  const med = (k) => { const v = runs.map((r) => r[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
  console.log(`profile:                         ${process.argv[3]} (${runs.length} runs, fresh data folder each)`);
  console.log(`cold start to sidebar (median):   ${med("cold_start_ms")} ms  [${runs.map((r) => r.cold_start_ms).join(", ")}]`);
  console.log(`idle RSS, app process (median):   ${med("app_rss_mib")} MiB`);
  console.log(`idle RSS, app + WebKit (median):  ${med("total_rss_mib")} MiB  (${runs.at(-1)?.webkit_children.join(", ")})`);
  const size = fs.statSync(process.argv[2]).size;
  console.log(`release binary size:              ${(size / 1048576).toFixed(1)} MiB (${size} bytes, ${process.argv[2]})`);
' "$OUT/bench.log" "$RELEASE_BIN" "$PROFILE" | tee "$OUT/bench.txt"
