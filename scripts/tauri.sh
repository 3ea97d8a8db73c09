#!/usr/bin/env bash
# The Tauri CLI on this repository's layout: the app crate is src-tauri/app (its
# tauri.conf.json is a symlink to the top-level one, the only copy) and the frontend is ui/.
#   scripts/tauri.sh info
#   scripts/tauri.sh build --bundles deb        (release build + .deb under target/release/bundle)
#   scripts/tauri.sh icon icons/source.png -o icons
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export TAURI_APP_PATH=$ROOT/src-tauri/app TAURI_FRONTEND_PATH=$ROOT/ui
cd "$ROOT"
exec npx --yes @tauri-apps/cli@2.12.5 "$@"
