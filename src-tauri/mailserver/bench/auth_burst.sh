#!/bin/sh
# Memory of password hashing under a burst of logins: a release `postdesk serve` (SMTP on
# loopback, no IMAP/POP3) gets N (default 300) SMTP AUTH PLAIN attempts at once with wrong
# passwords over the submission port (STARTTLS), from 50 loopback addresses (six each,
# within the per-address connection share). Every attempt gets 535 (checked) or 454 (the
# hashing queue is full: refused at once). Reports the answers and the server's RSS before
# the burst, at its peak (VmHWM) and after it (settled: RSS sampled until it stops falling).
# Argon2id needs 19 MiB per check; the pool runs one check per core and keeps one block
# buffer per core for reuse (src-tauri/engine/src/password.rs), so the peak and the RSS
# after stay near baseline + cores × 19 MiB whatever N is.
#
#   src-tauri/mailserver/bench/auth_burst.sh [N]     (BIN=path/postdesk to measure a given build;
#                                                     else the release build is built first)
set -eu
cd "$(dirname "$0")/../../.."
N=${1:-300}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p postdesk-cli --bin postdesk
  BIN=$CARGO_TARGET_DIR/release/postdesk
fi
WORK=$(mktemp -d /tmp/postdesk-authburst.XXXXXX)
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port); MX=$(free_port); SUB=$(free_port); SMTPS=$(free_port)
export POSTDESK_DATA_DIR="$WORK/data"
"$BIN" domain add example.com >/dev/null
echo "Bench pass 123" | "$BIN" accounts add ann@example.com --password-stdin >/dev/null
"$BIN" serve --listen "127.0.0.1:$API" --smtp-listen "127.0.0.1:$MX" --submission-listen "127.0.0.1:$SUB" \
  --smtps-listen "127.0.0.1:$SMTPS" --no-imap --no-pop3 --dns-resolver 127.0.0.1:9 >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 200); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $SUB), 1)" 2>/dev/null && break
  sleep 0.1
done
rss() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$SERVER/status"; }
echo "$BIN; $N AUTH attempts at once; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
# One login first, so the baseline includes what any first login sets up.
python3 - "$SUB" <<'PY'
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60); c.starttls(context=ctx); c.ehlo()
c.login("ann@example.com", "Bench pass 123"); c.quit()
PY
echo "before: VmRSS $(rss VmRSS)  (VmHWM $(rss VmHWM))"
python3 - "$SUB" "$N" <<'PY'
import collections, smtplib, ssl, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
codes = collections.Counter(); lock = threading.Lock(); ready = threading.Barrier(n)
def attempt(i):
    code = "no answer"
    try:
        c = smtplib.SMTP("127.0.0.1", port, timeout=300, source_address=("127.0.1.%d" % (1 + i % 50), 0))
        c.starttls(context=ctx); c.ehlo()
        c.user, c.password = "ann@example.com", "wrong password %d" % i
        ready.wait()
        try:
            c.auth("PLAIN", c.auth_plain); code = 235
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        try:
            c.quit()
        except Exception:
            pass
    except Exception as e:
        code = type(e).__name__
    with lock:
        codes[code] += 1
threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print("answers:", dict(codes))
PY
echo "peak:   VmHWM $(rss VmHWM)"
last=0
for _ in $(seq 30); do
  now=$(rss VmRSS | cut -d' ' -f1)
  [ "$now" = "$last" ] && break
  last=$now; sleep 1
done
echo "after:  VmRSS $(rss VmRSS)"
