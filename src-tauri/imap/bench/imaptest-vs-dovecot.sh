#!/usr/bin/env bash
# IMAP under imaptest's random load: a release `postdesk serve` against a private Dovecot 2.3,
# one after the other, with the same load: `imaptest secs=SECS clients=CLIENTS
# mbox=tests/default.mbox ssl=any-cert` (through tools/imaptest/run.sh --stress) on each
# server's implicit-TLS port (Postdesk accepts LOGIN only over TLS; Dovecot is given TLS too,
# with a certificate of the same kind, see servers.sh), one user, fresh data each.
#
#   src-tauri/imap/bench/imaptest-vs-dovecot.sh [SECS] [CLIENTS]     (defaults: 60 10)
#
# Prints imaptest's per-command totals for each, then one line per server:
#   postdesk: ops/s=X logins/s=Y errors=E   (secs=.. clients=.. total_cmds=N)
#   dovecot:  ops/s=X logins/s=Y errors=E   (…)
# errors = state-tracking or protocol errors imaptest reported (it checks every response
# against what it knows of the mailbox). Exit 1 if either server got errors (or imaptest
# failed), 2 if the harness could not run. Everything (servers, temp dirs) is removed on exit.
#
# Needs: root, dovecot-core + dovecot-imapd + dovecot-pop3d (no system Dovecot need run),
# imaptest (built by tools/imaptest/build.sh into $CARGO_TARGET_DIR/imaptest if missing),
# python3, openssl. POSTDESK_BIN overrides the release binary (else it is built).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
SECS=${1:-60}
CLIENTS=${2:-10}
BENCH_USER=bench@example.test
BENCH_PASS="Bench pass 2024"
# shellcheck source=servers.sh
. "$ROOT/src-tauri/imap/bench/servers.sh"
bench_need_root
JUDGE=${IMAPTEST_DIR:-$TARGET/imaptest}
"$ROOT/tools/imaptest/build.sh" "$JUDGE" 2>/dev/null || { echo "$0: cannot build imaptest" >&2; exit 2; }
build_postdesk

WORK=$(mktemp -d "${TMPDIR:-/tmp}/postdesk-imapbench.XXXXXX")
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "imaptest stress ${SECS}s, $CLIENTS clients, mbox=tests/default.mbox, implicit TLS; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
stress() { # NAME PORT
  local rc=0 line
  echo "--- $1"
  "$ROOT/tools/imaptest/run.sh" --dir "$JUDGE" --stress "$SECS" 127.0.0.1 "$2" "$BENCH_USER" "$BENCH_PASS" \
    clients="$CLIENTS" mbox="$JUDGE/tests/default.mbox" ssl=any-cert | tee "$WORK/$1.out" || rc=$?
  line=$(grep '^imaptest stress:' "$WORK/$1.out" || true)
  if [ -z "$line" ]; then
    echo "$1: no result (run.sh exit $rc)" >"$WORK/$1.summary"; status=2; return
  fi
  [ "$rc" -eq 0 ] || { [ "$status" -eq 0 ] && status=1; }
  awk -v n="$1:" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%-9s ops/s=%s logins/s=%s errors=%s   (secs=%s clients=%s total_cmds=%s rc=%s)\n",
      n, v["ops/s"], v["logins/s"], v["errors"], v["secs"], v["clients"], v["total_cmds"], v["rc"] }' \
    <<<"$line" >"$WORK/$1.summary"
}

start_postdesk
stress postdesk "$PD_IMAPS"
stop_postdesk
start_dovecot
stress dovecot "$DC_IMAPS"
stop_dovecot

echo "=== summary (imaptest stress ${SECS}s, $CLIENTS clients)"
cat "$WORK/postdesk.summary" "$WORK/dovecot.summary"
exit "$status"
