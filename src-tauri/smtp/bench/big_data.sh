#!/bin/sh
# Memory of the SMTP service under large messages: SESSIONS smtplib sessions (default 50,
# from ten loopback addresses, within the per-address share) each send one SIZE-byte
# message (default 20 MB) at once to smtp-testd (the real service over the real fsync'ing
# spool). Reports every reply, the daemon's peak RSS (VmHWM) and its RSS after the burst.
# Message data past 1 MiB waits in temporary files and at most 256 MiB of messages are in
# memory at once (src-tauri/smtp/src/store/incoming.rs), so the peak stays near that bound
# whatever SESSIONS × SIZE is.
#
#   src-tauri/smtp/bench/big_data.sh [SESSIONS] [SIZE]     (PROFILE=release for a release build;
#                                                          BIN=path/smtp-testd to measure a given build)
set -eu
cd "$(dirname "$0")/../../.."
SESSIONS=${1:-50}
SIZE=${2:-20000000}
PROFILE=${PROFILE:-debug}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [ -n "${BIN:-}" ]; then
  :
elif [ "$PROFILE" = release ]; then
  cargo build --release -q -p postdesk-smtp --bin smtp-testd
else
  cargo build -q -p postdesk-smtp --bin smtp-testd
fi
WORK=$(mktemp -d /tmp/postdesk-bigdata.XXXXXX)
cleanup() { kill "$DAEMON" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
BIN=${BIN:-$CARGO_TARGET_DIR/$PROFILE/smtp-testd}
"$BIN" --spool "$WORK/spool" --mx 127.0.0.1:0 --submission 127.0.0.1:0 \
  --submissions 127.0.0.1:0 --domain example.test >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do grep -q '^READY' "$WORK/daemon.log" && break; sleep 0.1; done
MX=$(sed -n 's/^READY mx=\([^ ]*\).*/\1/p' "$WORK/daemon.log")
[ -n "$MX" ] || { cat "$WORK/daemon.log"; exit 1; }
rss() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$DAEMON/status"; }
echo "$BIN on $MX; $SESSIONS sessions x $SIZE bytes; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "before: VmRSS $(rss VmRSS)"
python3 - "$MX" "$SESSIONS" "$SIZE" <<'PY'
import base64, collections, os, smtplib, sys, threading, time
host, port = sys.argv[1].rsplit(':', 1)
n, size = int(sys.argv[2]), int(sys.argv[3])
body = base64.encodebytes(os.urandom(size * 57 // 78)).replace(b'\n', b'\r\n')
codes = collections.Counter()
lock = threading.Lock()
start = threading.Barrier(n)
def send(i):
    try:
        s = smtplib.SMTP(host, int(port), timeout=600, source_address=('127.0.0.%d' % (10 + i % 10), 0))
        s.ehlo('bench.test')
        s.mail('big%d@remote.test' % i, ['SIZE=%d' % (len(body) + 100)])
        s.rcpt('rcpt@example.test')
        s.docmd('DATA')
        start.wait()
        s.send(b'Subject: big %d\r\n\r\n' % i)
        view = memoryview(body)
        for off in range(0, len(view), 1 << 20):
            s.sock.sendall(view[off:off + (1 << 20)])
        s.send(b'.\r\n')
        code = s.getreply()[0]
        s.quit()
    except Exception as e:
        code = repr(e)
    with lock:
        codes[code] += 1
t0 = time.time()
threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print("replies: %s in %.1f s (%.0f MB sent)" % (dict(codes), time.time() - t0, n * len(body) / 1e6))
PY
echo "peak: VmHWM $(rss VmHWM); after the burst: VmRSS $(rss VmRSS)"
sleep 5
echo "5 s later: VmRSS $(rss VmRSS)"
