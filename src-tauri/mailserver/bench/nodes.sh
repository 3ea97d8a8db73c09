#!/bin/sh
# Scale-out bench (issue 19): SMTP acceptance of one release `postdesk serve` node on a
# PostgreSQL database against two nodes on the same database, loaded by Postfix's
# smtp-source (4 KiB messages, one recipient). Each node is held to NODE_CPU of a core by a
# cgroup (the v1 cpu controller's quota), so that each stands for a small machine of its own
# while PostgreSQL, knotd and the load generator share the rest of this one; NODE_CPU=0
# lifts the limit. After each run, the time until every accepted message is in the INBOX
# (delivery writes to the shared database; acceptance only to the node's own spool).
#
#   NODES_BENCH_SERVER=postgres://user@127.0.0.1:5432 src-tauri/mailserver/bench/nodes.sh [MESSAGES] [SESSIONS]
#
# (defaults 10000 messages, 40 sessions; NODE_CPU 0.5.) The bench makes a database of its own
# on that server and drops it at the end. Needs: postfix (smtp-source), knot, psql.
set -eu
cd "$(dirname "$0")/../../.."
MESSAGES=${1:-10000}
SESSIONS=${2:-40}
NODE_CPU=${NODE_CPU:-0.5}
SERVER=${NODES_BENCH_SERVER:?set NODES_BENCH_SERVER=postgres://user@host:port (a server; the bench makes its database)}
DB=postdesk_nodes_bench_$$
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p postdesk-cli --bin postdesk
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d /tmp/postdesk-nodes.XXXXXX)
CG=/sys/fs/cgroup/cpu/postdesk-nodes-$$
A= B=
cleanup() {
  rc=$?
  [ "$rc" = 0 ] || tail -n 20 "$WORK"/a.log "$WORK"/b.log 2>/dev/null || true
  kill $A $B "$KNOT" 2>/dev/null || true
  wait 2>/dev/null || true
  # The nodes are not this shell's children (started from $(…)): wait until they are gone.
  for p in $A $B; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  for n in a b; do [ ! -d "$CG-$n" ] || rmdir "$CG-$n" || true; done
  psql -q "$SERVER/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

. src-tauri/mailserver/bench/knot.sh
psql -q "$SERVER/postgres" -c "CREATE DATABASE $DB"
URL=$SERVER/$DB
PD="$BIN/postdesk --database $URL --data-dir $WORK/admin --dns-resolver 127.0.0.1:$DNS_PORT"

# node NAME: starts a node in its own cgroup; prints its MX address.
node() {
  limit=""
  if [ "$NODE_CPU" != 0 ]; then
    mkdir "$CG-$1"
    echo "$(awk "BEGIN { print int($NODE_CPU * 100000) }")" >"$CG-$1/cpu.cfs_quota_us"
    limit="echo \$\$ >$CG-$1/tasks;"
  fi
  sh -c "$limit exec $BIN/postdesk --database $URL --data-dir $WORK/$1 --dns-resolver 127.0.0.1:$DNS_PORT \
    serve --node-name $1 --listen 127.0.0.1:0 --smtp-listen 127.0.0.1:0 --submission-listen 127.0.0.1:0 \
    --smtps-listen 127.0.0.1:0 --smtp-hostname mx-$1.example.test --no-imap --no-pop3" >"$WORK/$1.log" 2>&1 &
  echo $! >"$WORK/$1.pid"
  for _ in $(seq 300); do grep -q "admin API listening" "$WORK/$1.log" && break; sleep 0.1; done
  sed -n 's/^SMTP mx listening on //p' "$WORK/$1.log"
}

inbox() { $PD --json accounts messages rcpt@example.test --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

# load SESSIONS MESSAGES ADDR...: smtp-source against each address at once (the sessions and
# messages shared out); prints the wall time in seconds.
load() {
  s=$1 m=$2
  shift 2
  start=$(date +%s.%N)
  pids=""
  for mx in "$@"; do
    smtp-source -s $((s / $#)) -l 4096 -m $((m / $#)) -f bench@remote.test -t rcpt@example.test -M bench.test -d "$mx" &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p"; done
  python3 -c "import time; print(round(time.time() - $start, 2))"
}

# run LABEL ADDR...: one run; prints the acceptance rate and the delivery lag.
run() {
  label=$1
  shift
  before=$(inbox)
  secs=$(load "$SESSIONS" "$MESSAGES" "$@")
  start=$(date +%s.%N)
  want=$((before + MESSAGES / $# * $#))
  # Every message answered 250 must arrive: a count that stops short for 60 s is a loss.
  last=-1 still=0
  while n=$(inbox) && [ "$n" -lt "$want" ]; do
    if [ "$n" = "$last" ]; then still=$((still + 1)); else last=$n still=0; fi
    [ "$still" -lt 120 ] || { echo "LOST: $((want - n)) of $((want - before)) accepted messages never reached the INBOX" >&2; exit 1; }
    sleep 0.5
  done
  lag=$(python3 -c "import time; print(round(time.time() - $start, 1))")
  python3 -c "print(f'$label: {$MESSAGES // $# * $#} messages accepted in {$secs} s = {$MESSAGES // $# * $# / $secs:,.0f} msg/s; all in the INBOX {$lag} s after the last 250')"
}

MX_A=$(node a)
[ -n "$MX_A" ] || { cat "$WORK/a.log"; exit 1; }
A=$(cat "$WORK/a.pid")
$PD domain add example.test >/dev/null
$PD accounts add rcpt@example.test >/dev/null
# Every bench session comes from 127.0.0.1: lift the per-address share (20 by default).
$PD smtp settings set --max-connections-per-ip none >/dev/null
MX_B=$(node b)
[ -n "$MX_B" ] || { cat "$WORK/b.log"; exit 1; }
B=$(cat "$WORK/b.pid")
sleep 2 # the settings change reaches both nodes (LISTEN/NOTIFY; their caches expire in 1 s)
cpu=$([ "$NODE_CPU" = 0 ] && echo "no limit" || echo "$NODE_CPU core each")
echo "two nodes on one PostgreSQL database ($SERVER), $MESSAGES messages of 4 KiB over $SESSIONS sessions;"
echo "nodes: $cpu; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
run "node a alone" "$MX_A"
run "nodes a and b" "$MX_A" "$MX_B"
run "node a alone, again" "$MX_A"
run "nodes a and b, again" "$MX_A" "$MX_B"
