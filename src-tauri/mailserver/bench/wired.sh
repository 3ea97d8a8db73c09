#!/bin/sh
# Benchmark of the whole mail server as shipped: a release `postdesk serve` (SMTP wired to
# the engine: every RCPT asks the directory and the policy decision, inbound SPF/DKIM/DMARC
# run against a local knotd, 250 only after the spool's fdatasync) against a local Postfix
# delivering to a Maildir (src-tauri/smtp/bench/postfix.sh), both loaded by Postfix's
# smtp-source through smtp-bench, at each concurrency given. Then waits until every
# accepted message is in the INBOX and reports the delivery rate.
#
#   src-tauri/mailserver/bench/wired.sh [MESSAGES] [SESSIONS...]      (defaults: 10000 1 10 50)
#
# Needs: postfix (smtp-source), knot. Run as root on a throwaway machine: it rewrites
# /etc/postfix (see postfix.sh).
set -eu
cd "$(dirname "$0")/../../.."
MESSAGES=${1:-10000}
[ $# -gt 0 ] && shift
SESSIONS=${*:-1 10 50}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p postdesk-cli -p postdesk-smtp --bin postdesk --bin smtp-bench
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/postdesk-wired.XXXXXX)
cleanup() { kill "$SERVE" "$KNOT" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

. src-tauri/mailserver/bench/knot.sh

sh src-tauri/smtp/bench/postfix.sh 2526 >/dev/null

PD="$BIN/postdesk --data-dir $WORK/data --dns-resolver 127.0.0.1:$DNS_PORT"
$PD serve --listen 127.0.0.1:0 --smtp-listen 127.0.0.1:0 --submission-listen 127.0.0.1:0 \
  --smtps-listen 127.0.0.1:0 --smtp-hostname mx.example.test --no-imap --no-pop3 >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do grep -q "admin API listening" "$WORK/serve.log" && break; sleep 0.1; done
MX=$(sed -n 's/^SMTP mx listening on //p' "$WORK/serve.log")
[ -n "$MX" ] || { cat "$WORK/serve.log"; exit 1; }
$PD domain add example.test >/dev/null
$PD accounts add rcpt@example.test >/dev/null
$PD accounts add probe@example.test >/dev/null
# Every bench session comes from 127.0.0.1: lift the per-address share (20 by default).
$PD smtp settings set --max-connections-per-ip none >/dev/null
echo "postdesk serve (release) MX on $MX; Postfix on 127.0.0.1:2526; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

total=0
for s in $SESSIONS; do
  echo "--- $s session(s)"
  "$BIN/smtp-bench" --no-builtin --messages "$MESSAGES" --sessions "$s" \
    --compare "postdesk-serve=$MX" --compare "postfix=127.0.0.1:2526" --baseline postfix
  total=$((total + MESSAGES))
done

# Delivery into the mailboxes (behind acceptance; the spool holds the difference).
start=$(date +%s.%N)
while :; do
  n=$($PD --json accounts messages rcpt@example.test --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  [ "$n" -ge "$total" ] && break
  sleep 1
done
end=$(date +%s.%N)
echo "all $total bench messages in rcpt@example.test's INBOX $(python3 -c "print(round($end-$start,1))") s after the last run ended"
