#!/usr/bin/env bash
# Runs every test of Postdesk on a Debian 12 machine with Rust (rustup) and Node.js 20,
# installing what is missing: Debian packages (knot for the DNS tests, swaks for the SMTP
# tests, Chromium for the browser tests, WebKitGTK/Xvfb/gnome-keyring for the desktop
# tests), npm packages, crates, tauri-driver. Exits non-zero on the first failure. Honours CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source tests/desktop/lib.sh   # ensure_packages, log, DESKTOP_PACKAGES
# swaks (+ Net::SSLeay for its TLS) and python3 are the SMTP tests' clients.
DESKTOP_PACKAGES+=(knot chromium swaks libnet-ssleay-perl python3 isync fetchmail)
# Outbound delivery's tests: Postfix's smtp-sink as the remote, dkimpy (Debian's python3) to
# verify DKIM signatures. Postfix itself stays unconfigured and stopped.
DESKTOP_PACKAGES+=(postfix python3-dkim)
# Shared mailboxes' tests: a real Dovecot as the external IMAP server (started by each test
# as an unprivileged process with its own config, tests/src/dovecot.rs); isync's mbsync is
# the fetch benchmark's comparison.
DESKTOP_PACKAGES+=(dovecot-imapd)
# The contract suite runs on PostgreSQL too (tests/src/postgres.rs starts a server as the
# postgres user: initdb refuses root); pg_trgm comes with Debian's server package.
DESKTOP_PACKAGES+=(postgresql)
if ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
  preseed_sudo=""; [ "$(id -u)" -eq 0 ] || preseed_sudo="sudo"
  echo "postfix postfix/main_mailer_type select No configuration" | $preseed_sudo debconf-set-selections
fi
export POSTDESK_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/postdesk

log "Debian packages"
ensure_packages

log "Python: moto's S3 server (the blob store's tests run against it)"
MOTO="moto[server]==5.2.1"
if ! python3 -c "import moto.server, flask_cors" 2>/dev/null; then
  python3 -m pip install --quiet "$MOTO" 2>/dev/null || python3 -m pip install --quiet --break-system-packages "$MOTO"
fi

log "UI: install, lint, unit tests, build (the desktop app embeds ui/dist)"
(cd ui && npm ci --no-audit --no-fund && npm run lint && npm test && npm run build)

log "Rust: format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings          # engine crates (no WebKit)
cargo clippy -p postdesk-app --all-targets --locked -- -D warnings
python3 scripts/check-layers.py   # crate sizes, files importing each other, SQL in one place, services on traits

log "Rust: unit, contract, CLI and real-DNS tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked --no-fail-fast
fi
cargo build --locked -p postdesk-cli
# The PostgreSQL server the tests started (tests/src/postgres.rs) is not needed any more.
PG_TEST_DIR="${TMPDIR:-/tmp}/postdesk-test-postgres-$(id -u)"
if [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
  pg_runner=(); [ "$(id -u)" -eq 0 ] && pg_runner=(runuser -u postgres --)
  "${pg_runner[@]}" "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$PG_TEST_DIR/data" -m fast stop || true
fi

log "IMAP: Dovecot's imaptest scripted compliance tests against postdesk serve"
scripts/imaptest.sh

log "UI: browser end-to-end tests against a real postdesk serve"
(cd ui && npm run e2e)

log "Desktop: app unit tests, keyring on a real Secret Service, the window under Xvfb"
cargo test --locked -p postdesk-app
tests/desktop/keyring.sh
# The window test drives the binary `cargo test` just built (a plain `cargo build` would
# compile the GTK/WebKit stack a second time: the dev-dependencies change rustix's features).
POSTDESK_APP=${CARGO_TARGET_DIR:-$ROOT/target}/debug/postdesk-app tests/desktop/window.sh

log "all tests passed"
