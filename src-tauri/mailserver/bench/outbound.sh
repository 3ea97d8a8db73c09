#!/bin/sh
# Outbound delivery rate, Postdesk against Postfix, in one run (a benchmark, not a test).
#
# Both take MESSAGES messages of 4 KiB from Postfix's smtp-source (4 clients in parallel,
# one per destination domain dest1..dest4.test, SESSIONS sessions each) and relay them to
# a local smtp-sink that exits once it has them all; the time from the first message
# injected to the sink's exit is the end-to-end rate. Every message is durable before
# its 250 on both sides (Postdesk: the spool's fdatasync; then the engine's queue
# transaction; Postfix: its queue file's fsync).
#   - postdesk serve (release): mail for fwd1..fwd4@example.test, aliases whose targets
#     are x@destN.test, so each is accepted at the MX port and queued for outbound
#     delivery; the transport table sends `*` to the sink (no DNS involved). Outbound: up
#     to 64 messages in flight, 4 connections per destination (`--outbound-per-destination`).
#   - Postfix (Debian package, "No configuration"; this script rewrites /etc/postfix): relays
#     everything from 127.0.0.0/8 to the sink as its relayhost, default concurrency (20).
#
#   src-tauri/mailserver/bench/outbound.sh [MESSAGES] [SESSIONS]      (defaults: 10000 5)
#   PER_DESTINATION=N (default 4) sets Postdesk's connections per destination domain.
#   ONLY=postdesk|postfix runs one side; NO_BUILD=1 uses the release binary as it is;
#   PERF=file records `perf record -g` of serve for PERF_SECS (20); KEEP_LOG=file keeps
#   serve's log (POSTDESK_LOG=postdesk_mailserver::outbound=info logs every attempt).
#
# Needs: postfix (smtp-source, smtp-sink), knot. Run as root on a throwaway machine.
set -eu
cd "$(dirname "$0")/../../.."
MESSAGES=${1:-10000}
SESSIONS=${2:-5}
PER=$((MESSAGES / 4))
MESSAGES=$((PER * 4))
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p postdesk-cli --bin postdesk
BIN=${BIN:-$CARGO_TARGET_DIR/release}
WORK=$(mktemp -d /tmp/postdesk-outbound.XXXXXX)
chmod 755 "$WORK"
SERVE=; KNOT=; SINK=
cleanup() { kill $SERVE $KNOT $SINK 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# Waits until something listens on 127.0.0.1:$1 (at most 10 s).
listening() {
  python3 - "$1" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("nothing listens on port " + sys.argv[1])
EOF
}

# DNS for the inbound checks of the injected mail (sender bench@remote.test).
. src-tauri/mailserver/bench/knot.sh

# One run: start a sink that exits after MESSAGES messages, inject into $1 with one
# smtp-source per destination, report accepted-at and relayed-at times.
run() {
  name=$1 target=$2 rcpt_prefix=$3 sink_port=$4
  smtp-sink -u nobody -M "$MESSAGES" "127.0.0.1:$sink_port" 256 &
  SINK=$!
  listening "$sink_port"
  start=$(now)
  pids=
  for n in 1 2 3 4; do
    smtp-source -s "$SESSIONS" -l 4096 -m "$PER" -f bench@remote.test -t "$(printf "$rcpt_prefix" "$n")" "$target" &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p"; done
  accepted=$(now)
  wait "$SINK" || true
  SINK=
  relayed=$(now)
  WORK=$WORK python3 - "$name" "$MESSAGES" "$start" "$accepted" "$relayed" <<'EOF'
import sys
name, n, start, accepted, relayed = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
open(f"{__import__('os').environ['WORK']}/{name}.rate", "w").write(str(n / (relayed - start)))
print(f"{name:9} {n} messages: accepted in {accepted-start:6.1f} s ({n/(accepted-start):6.0f}/s), "
      f"all at the sink after {relayed-start:6.1f} s ({n/(relayed-start):6.0f} msg/s end to end)")
EOF
}

echo "$MESSAGES messages of 4 KiB, 4 destinations x $SESSIONS sessions; Postdesk ${PER_DESTINATION:-4} connections per destination; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- Postdesk
if [ "${ONLY:-both}" != postfix ]; then
PD="$BIN/postdesk --data-dir $WORK/data --dns-resolver 127.0.0.1:$DNS_PORT"
PD_SINK=$(free_port)
$PD domain add example.test >/dev/null
for n in 1 2 3 4; do $PD alias add "fwd$n@example.test" "x@dest$n.test" >/dev/null; done
$PD outbound transports set '*' 127.0.0.1 "$PD_SINK" >/dev/null
# Every bench session comes from 127.0.0.1: lift the per-address share (20 by default).
$PD smtp settings set --max-connections-per-ip none >/dev/null
$PD serve --listen 127.0.0.1:0 --smtp-listen 127.0.0.1:0 --submission-listen 127.0.0.1:0 \
  --smtps-listen 127.0.0.1:0 --smtp-hostname mx.example.test --no-imap --no-pop3 \
  --outbound-per-destination "${PER_DESTINATION:-4}" >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 100); do grep -q "admin API listening" "$WORK/serve.log" && break; sleep 0.1; done
MX=$(sed -n 's/^SMTP mx listening on //p' "$WORK/serve.log")
[ -n "$MX" ] || { cat "$WORK/serve.log"; exit 1; }
[ -z "${PERF:-}" ] || perf record -g -p "$SERVE" -o "$PERF" -- sleep "${PERF_SECS:-20}" >/dev/null 2>&1 &
run postdesk "$MX" "fwd%s@example.test" "$PD_SINK"
[ -z "${KEEP_LOG:-}" ] || cp "$WORK/serve.log" "$KEEP_LOG"
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=
fi

# --- Postfix, relaying to its own sink
[ "${ONLY:-both}" != postdesk ] || exit 0
PF_SINK=$(free_port)
PF_PORT=2527
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e \
  "myhostname = postfix.bench.test" \
  "mydestination =" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = ipv4" \
  "mynetworks = 127.0.0.0/8" \
  "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
  "relayhost = [127.0.0.1]:$PF_SINK" \
  "smtp_tls_security_level = none" \
  "virtual_mailbox_domains =" \
  "maillog_file = /var/log/postfix.log" \
  "alias_maps =" \
  "alias_database =" \
  "compatibility_level = 3.6"
postconf -M "${PF_PORT}/inet=${PF_PORT} inet n - n - - smtpd"
postfix check
# A previous run's leftovers would reach this run's sink.
postsuper -d ALL >/dev/null 2>&1 || true
if postfix status >/dev/null 2>&1; then postfix reload >/dev/null 2>&1; else postfix start >/dev/null 2>&1; fi
sleep 1
run postfix "127.0.0.1:$PF_PORT" "x@dest%s.test" "$PF_SINK"
postfix stop >/dev/null 2>&1 || true
python3 -c 'import sys; pd, pf = (float(open(f).read()) for f in sys.argv[1:]); print(f"Postdesk / Postfix (end to end): {pd / pf:.2f}x")' \
  "$WORK/postdesk.rate" "$WORK/postfix.rate"
echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
