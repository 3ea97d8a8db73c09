#!/bin/sh
# Cost of the mail rules on the path: a release `postdesk serve` (as in wired.sh: policy per
# RCPT, inbound SPF/DKIM/DMARC against a local knotd, 250 after the spool's fdatasync) loaded
# by smtp-source through smtp-bench, first with no rules, then with 100 automatic-BCC rules
# (inbound and outbound, each with a sender or recipient condition; evaluated for every
# message, none firing, so the mail delivered is the same) and a daily send quota on the
# domain default; then 100 more BCC rules that all fire on the bench mail (each a copy to the
# same archive mailbox, delivered once); then 100 disclaimer and 100 monitoring rules on top
# (see below). Reports the accept rate of each run and how long the
# delivery into the mailboxes took after each run.
#
#   src-tauri/mailserver/bench/rules.sh [MESSAGES] [SESSIONS]      (defaults: 5000 10)
#
# Needs: postfix (smtp-source), knot.
set -eu
cd "$(dirname "$0")/../../.."
MESSAGES=${1:-5000}
SESSIONS=${2:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p postdesk-cli -p postdesk-smtp --bin postdesk --bin smtp-bench
BIN=${BIN:-$CARGO_TARGET_DIR/release}
WORK=$(mktemp -d /tmp/postdesk-rules.XXXXXX)
cleanup() { kill "$SERVE" "$KNOT" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

. src-tauri/mailserver/bench/knot.sh

PD="$BIN/postdesk --data-dir $WORK/data --dns-resolver 127.0.0.1:$DNS_PORT"
$PD serve --listen 127.0.0.1:0 --smtp-listen 127.0.0.1:0 --submission-listen 127.0.0.1:0 \
  --smtp-hostname mx.example.test --no-imap --no-pop3 >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do grep -q "admin API listening" "$WORK/serve.log" && break; sleep 0.1; done
MX=$(sed -n 's/^SMTP mx listening on //p' "$WORK/serve.log")
[ -n "$MX" ] || { cat "$WORK/serve.log"; exit 1; }
$PD domain add example.test >/dev/null
$PD accounts add rcpt@example.test >/dev/null
$PD accounts add probe@example.test >/dev/null
$PD accounts add archive@example.test >/dev/null
$PD smtp settings set --max-connections-per-ip none >/dev/null
echo "postdesk serve ($BIN) MX on $MX; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

count() { $PD --json accounts messages "$1" --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
# One run: the accept rate, then the seconds until `rcpt` holds `want` messages.
run() {
  "$BIN/smtp-bench" --no-builtin --messages "$MESSAGES" --sessions "$SESSIONS" --compare "$1=$MX" | grep -v '^$'
  start=$(date +%s.%N)
  while [ "$(count rcpt@example.test)" -lt "$2" ]; do sleep 0.2; done
  echo "$1: delivered into the mailboxes $(python3 -c "print(round($(date +%s.%N)-$start,1))") s after the run ended"
}

run no-rules "$MESSAGES"
i=0
while [ $i -lt 50 ]; do
  $PD rules bcc add example.test --name "in $i" --direction inbound --recipient "nobody$i@example.test" archive@example.test >/dev/null
  $PD rules bcc add example.test --name "out $i" --direction outbound --sender "nobody$i@example.test" archive@example.test >/dev/null
  i=$((i + 1))
done
$PD settings set --domain-default example.test daily_send_messages=1000 daily_send_mb=100 >/dev/null
run 100-bcc-rules-none-firing $((2 * MESSAGES))
i=0
while [ $i -lt 100 ]; do
  $PD rules bcc add example.test --name "firing $i" --direction inbound --sender remote.test archive@example.test >/dev/null
  i=$((i + 1))
done
run 200-bcc-rules-100-firing $((3 * MESSAGES))
echo "archive@example.test holds $(count archive@example.test) copies (one per message of the last run, smtp-bench's probes included)"
# 100 disclaimer rules (loaded and matched for every message; this MX mail is not submitted,
# so none is appended) and 100 monitoring rules: 50 copying to the archive mail that says a
# word the bench mail never says (so every message's text is parsed and searched), 50 filing
# one watched account's mail (not rcpt) into a folder.
i=0
while [ $i -lt 100 ]; do
  $PD rules disclaimer add example.test --name "disclaimer $i" --sender "nobody$i@example.test" --text "Notice $i." >/dev/null
  i=$((i + 1))
done
i=0
while [ $i -lt 50 ]; do
  $PD rules monitor add example.test --name "keyword $i" --keyword "no-such-word-$i" --copy-to archive@example.test >/dev/null
  $PD rules monitor add example.test --name "folder $i" --account probe@example.test --min-size-kb 1024 --folder "Big $i" >/dev/null
  i=$((i + 1))
done
run 100-disclaimers-100-monitoring-rules $((4 * MESSAGES))
