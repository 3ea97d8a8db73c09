# Shared by the desktop scripts: paths, Debian packages, tauri-driver, UI and app builds.
# Source it; it sets ROOT, TARGET (honours CARGO_TARGET_DIR, default target/) and OUT.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET/desktop

# What building the app, its keyring and its window tests need from Debian.
DESKTOP_PACKAGES=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev
  libsecret-1-dev libdbus-1-dev gnome-keyring dbus-x11 libsecret-tools
  webkit2gtk-driver xvfb xdotool
)

# Each phase also prints the free disk space, so that a full disk names the phase that filled it.
log() { printf '\033[1m==> %s\033[0m  (%s free)\n' "$*" "$(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ')" >&2; }

# Installs the Debian packages that are missing (as root, or through sudo).
ensure_packages() {
  local missing=()
  for p in "${DESKTOP_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# tauri-driver (the WebDriver bridge) from crates.io, once.
ensure_tauri_driver() {
  TAURI_DRIVER=$(command -v tauri-driver || true)
  if [ -z "$TAURI_DRIVER" ] && [ -x "$HOME/.cargo/bin/tauri-driver" ]; then
    TAURI_DRIVER=$HOME/.cargo/bin/tauri-driver
  fi
  if [ -z "$TAURI_DRIVER" ]; then
    log "cargo install tauri-driver --locked"
    cargo install tauri-driver --locked
    TAURI_DRIVER=$HOME/.cargo/bin/tauri-driver
  fi
}

# ui/dist, which the app embeds at compile time.
ensure_ui() {
  command -v npm >/dev/null || { echo "Node.js >= 20.19 with npm is needed to build the UI" >&2; exit 1; }
  if [ ! -f "$ROOT/ui/dist/index.html" ] || [ -n "${REBUILD_UI:-}" ]; then
    log "building the web UI (ui/dist)"
    (cd "$ROOT/ui" && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
  fi
}

# Builds the app; `build_app --release` for an optimised one. Sets APP_BIN.
build_app() {
  local profile=debug
  [ "${1:-}" = "--release" ] && profile=release
  log "cargo build -p postdesk-app ${1:-}"
  (cd "$ROOT" && cargo build -p postdesk-app ${1:+"$1"})
  APP_BIN=$TARGET/$profile/postdesk-app
}

# A throw-away HOME and XDG folders, so a test starts with a fresh data folder and keyring.
fresh_home() {
  FRESH=$(mktemp -d "${TMPDIR:-/tmp}/postdesk-desktop.XXXXXX")
  mkdir -p "$FRESH/home" "$FRESH/data" "$FRESH/config" "$FRESH/cache" "$FRESH/run"
  chmod 700 "$FRESH/run"
  export HOME=$FRESH/home XDG_DATA_HOME=$FRESH/data XDG_CONFIG_HOME=$FRESH/config \
    XDG_CACHE_HOME=$FRESH/cache XDG_RUNTIME_DIR=$FRESH/run
}
