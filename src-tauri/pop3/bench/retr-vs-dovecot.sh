#!/usr/bin/env bash
# POP3 download: a release `postdesk serve` against a private Dovecot 2.3, one after the other,
# each with the same N messages (1-8 KB of text, deterministic, some lines byte-stuffed) in the
# one user's INBOX, fetched by a Python poplib client over POP3S (implicit TLS on both; see
# src-tauri/imap/bench/servers.sh): one session, USER/PASS, STAT, RETR of every message, no
# DELE, QUIT.
#
#   src-tauri/pop3/bench/retr-vs-dovecot.sh [N]      (default: 10000)
#
# How the messages get in (not timed in the result): Postdesk by IMAP APPEND over IMAPS (4
# connections; each APPEND is stored and fsynced by the server); Dovecot as its own LDA would
# leave them, one file each in Maildir/new (named with S= and W= sizes). Before the timed
# session each server gets one untimed POP3 session (STAT, QUIT), so Dovecot has indexed the
# Maildir; the timed one measures downloading, not a first scan.
#
# Prints per server: messages/s and MB/s (10^6 bytes) over the whole session, login included,
# and over the RETR loop alone. Exit 1 unless every message came back from both (STAT count,
# count, total bytes and each message byte for byte equal to one put in), 2 if the harness
# could not run. Everything (servers, temp dirs) is removed on exit.
#
# Needs: root, dovecot-core + dovecot-imapd + dovecot-pop3d, python3, openssl.
# POSTDESK_BIN overrides the release binary (else it is built).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
N=${1:-10000}
BENCH_USER=bench@example.test
BENCH_PASS="Bench pass 2024"
PY="python3 $ROOT/src-tauri/pop3/bench/pop3bench.py"
# shellcheck source=../../imap/bench/servers.sh
. "$ROOT/src-tauri/imap/bench/servers.sh"
bench_need_root
build_postdesk

WORK=$(mktemp -d "${TMPDIR:-/tmp}/postdesk-pop3bench.XXXXXX")
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "POP3S RETR of $N messages, one poplib session per server; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
echo "--- postdesk"
start_postdesk
$PY append 127.0.0.1 "$PD_IMAPS" "$BENCH_USER" "$BENCH_PASS" "$N" 4 || exit 2
$PY warm 127.0.0.1 "$PD_POP3S" "$BENCH_USER" "$BENCH_PASS" || exit 2
$PY retr postdesk 127.0.0.1 "$PD_POP3S" "$BENCH_USER" "$BENCH_PASS" "$N" | tee "$WORK/postdesk.summary" || status=1
stop_postdesk

echo "--- dovecot"
start_dovecot
$PY maildir "$DC_MAILDIR" "$N" || exit 2
$PY warm 127.0.0.1 "$DC_POP3S" "$BENCH_USER" "$BENCH_PASS" || exit 2
$PY retr dovecot 127.0.0.1 "$DC_POP3S" "$BENCH_USER" "$BENCH_PASS" "$N" | tee "$WORK/dovecot.summary" || status=1
stop_dovecot

echo "=== summary (POP3S RETR, $N messages)"
cat "$WORK/postdesk.summary" "$WORK/dovecot.summary"
exit "$status"
