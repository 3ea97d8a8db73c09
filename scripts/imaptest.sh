#!/usr/bin/env bash
# The IMAP compliance judge: Dovecot's imaptest scripted tests against `postdesk serve`.
#
#   scripts/imaptest.sh            # builds imaptest if needed, runs every scripted test
#   MIN_PASSED=69 scripts/imaptest.sh
#
# Fails when any test fails, or when fewer than MIN_PASSED pass (a test that starts being
# skipped because a capability vanished is a regression too).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${POSTDESK_BIN:-$TARGET/debug/postdesk}
JUDGE=$TARGET/imaptest
MIN_PASSED=${MIN_PASSED:-69}
PASSWORD="Imaptest pass 1"
USER=imaptest@example.test

"$ROOT/tools/imaptest/build.sh" "$JUDGE"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --locked -p postdesk-cli)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/postdesk-imaptest.XXXXXX")
SERVE=
cleanup() { [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export POSTDESK_DATA_DIR=$WORK/data
"$BIN" domain add example.test >/dev/null
printf '%s\n' "$PASSWORD" | "$BIN" accounts add "$USER" --quota-mb 500 --password-stdin >/dev/null
# A second user (same password, as imaptest wants) for the tests of two users (urlauth2).
printf '%s\n' "$PASSWORD" | "$BIN" accounts add "imaptest2@example.test" --quota-mb 50 --password-stdin >/dev/null
any=127.0.0.1:0
"$BIN" serve --listen $any --smtp-listen $any --submission-listen $any --smtps-listen $any \
  --imap-listen $any --imaps-listen $any --no-pop3 >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 300); do grep -q "admin API listening" "$WORK/serve.log" && break; sleep 0.1; done
PORT=$(sed -n 's/^IMAP imaps listening on 127\.0\.0\.1://p' "$WORK/serve.log")
[ -n "$PORT" ] || { cat "$WORK/serve.log" >&2; echo "imaptest: serve did not start IMAP" >&2; exit 2; }

status=0
"$ROOT/tools/imaptest/run.sh" --dir "$JUDGE" --timeout 60 127.0.0.1 "$PORT" "$USER" "$PASSWORD" ssl=any-cert user2=imaptest2@example.test \
  | tee "$WORK/result" || status=$?
passed=$(sed -n 's/^imaptest summary: passed=\([0-9]*\).*/\1/p' "$WORK/result")
if [ "$status" -ne 0 ]; then
  echo "imaptest: a scripted test failed (exit $status)" >&2; exit 1
fi
if [ "${passed:-0}" -lt "$MIN_PASSED" ]; then
  echo "imaptest: only ${passed:-0} passed, fewer than $MIN_PASSED" >&2; exit 1
fi
echo "imaptest: $passed passed, none failed"
