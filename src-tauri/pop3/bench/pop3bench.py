#!/usr/bin/env python3
"""Helper of retr-vs-dovecot.sh: the same N messages (deterministic from the seed) put into an
INBOX, then fetched back with RETR over POP3S and checked.

  pop3bench.py append HOST PORT USER PASS N [CONNECTIONS]   IMAP APPEND over implicit TLS
  pop3bench.py maildir DIR N                                files into DIR/new (as an MDA does)
  pop3bench.py warm HOST PORT USER PASS                     one POP3S session: STAT, QUIT
  pop3bench.py retr NAME HOST PORT USER PASS N              one POP3S session: STAT, RETR 1..N, QUIT

`retr` prints one line
  NAME: N messages, B bytes in S s: X msg/s, Y MB/s (RETR loop alone: X' msg/s, Y' MB/s; login L ms, QUIT Q ms)
and exits 1 unless STAT said N, N messages came back and every one is byte for byte one of the
N put in (count, total bytes and the multiset of SHA-256 digests all equal). MB = 10^6 bytes.
Messages are 1-8 KB of text with CRLF lines, some starting with "." (byte-stuffed in transit).
"""
import hashlib
import imaplib
import os
import poplib
import random
import ssl
import sys
import threading
import time

SEED = 1939
WORDS = ("mail server inbox message retrieve quota folder account postdesk dovecot benchmark "
         "the of and to in is that for on with as by at from this be or are an it not").split()


def messages(n):
    rnd = random.Random(SEED)
    out = []
    for i in range(n):
        target = rnd.randint(1000, 8000)
        head = (f"From: Sender {i % 97} <sender{i % 97}@remote.test>\r\n"
                f"To: Bench <bench@example.test>\r\n"
                f"Subject: benchmark message {i} of {n}\r\n"
                f"Date: Mon, 1 Jan 2024 00:{i // 60 % 60:02d}:{i % 60:02d} +0000\r\n"
                f"Message-ID: <{i}.{n}.bench@remote.test>\r\n"
                f"MIME-Version: 1.0\r\n"
                f"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        body = []
        size = len(head)
        while size < target:
            line = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 12)))
            if rnd.random() < 0.03:
                line = "." + line          # must be byte-stuffed by the server
            body.append(line)
            size += len(line) + 2
        out.append((head + "\r\n".join(body) + "\r\n").encode())
    return out


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def append(host, port, user, password, n, conns=4):
    msgs = messages(n)
    errors = []

    def worker(k):
        try:
            imap = imaplib.IMAP4_SSL(host, port, ssl_context=tls_context())
            imap.login(user, password)
            for m in msgs[k::conns]:
                typ, data = imap.append("INBOX", None, None, m)
                if typ != "OK":
                    raise RuntimeError(f"APPEND: {typ} {data}")
            imap.logout()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"append failed: {errors[0]}")
    dt = time.perf_counter() - t0
    print(f"  {n} messages appended over {conns} IMAPS connections in {dt:.1f} s ({n / dt:.0f} msg/s)")


def maildir(path, n):
    t0 = time.perf_counter()
    host = "bench"
    base = int(time.time())
    for i, m in enumerate(messages(n)):
        lf = m.replace(b"\r\n", b"\n")    # Maildir files have LF lines; Dovecot sends CRLF
        # As Dovecot's own LDA names them: S= file size, W= size with CRLF lines.
        name = f"{base}.M{i}P{os.getpid()}.{host},S={len(lf)},W={len(m)}"
        tmp = os.path.join(path, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(lf)
        os.rename(tmp, os.path.join(path, "new", name))
    os.system(f"chown -R nobody:nogroup '{path}'")
    dt = time.perf_counter() - t0
    print(f"  {n} messages written into the Maildir in {dt:.1f} s")


def retr(name, host, port, user, password, n):
    msgs = messages(n)
    want = sorted(hashlib.sha256(m).digest() for m in msgs)
    want_bytes = sum(len(m) for m in msgs)
    t0 = time.perf_counter()
    pop = poplib.POP3_SSL(host, port, context=tls_context())
    pop.user(user)
    pop.pass_(password)
    count, _ = pop.stat()
    t1 = time.perf_counter()
    got = []
    got_bytes = 0
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        m = b"\r\n".join(lines) + b"\r\n"
        got_bytes += len(m)
        got.append(hashlib.sha256(m).digest())
    t2 = time.perf_counter()
    pop.quit()
    t3 = time.perf_counter()
    total, loop = t3 - t0, t2 - t1
    print(f"{name + ':':9} {count} messages, {got_bytes} bytes in {total:.2f} s: "
          f"{count / total:.0f} msg/s, {got_bytes / total / 1e6:.1f} MB/s "
          f"(RETR loop alone: {count / loop:.0f} msg/s, {got_bytes / loop / 1e6:.1f} MB/s; "
          f"login {(t1 - t0) * 1000:.0f} ms, QUIT {(t3 - t2) * 1000:.0f} ms)")
    problems = []
    if count != n:
        problems.append(f"STAT said {count} messages, {n} were put in")
    if got_bytes != want_bytes:
        problems.append(f"{got_bytes} bytes came back, {want_bytes} were put in")
    if sorted(got) != want:
        problems.append(f"{len(set(got) - set(want))} message(s) differ from every one put in")
    for p in problems:
        print(f"{name}: MISMATCH: {p}", file=sys.stderr)
    return 1 if problems else 0


def warm(host, port, user, password):
    pop = poplib.POP3_SSL(host, port, context=tls_context())
    pop.user(user)
    pop.pass_(password)
    pop.stat()
    pop.quit()


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "append" and len(argv) in (7, 8):
        append(argv[2], int(argv[3]), argv[4], argv[5], int(argv[6]), *(int(a) for a in argv[7:]))
        return 0
    if cmd == "maildir" and len(argv) == 4:
        maildir(argv[2], int(argv[3]))
        return 0
    if cmd == "warm" and len(argv) == 6:
        warm(argv[2], int(argv[3]), argv[4], argv[5])
        return 0
    if cmd == "retr" and len(argv) == 8:
        return retr(argv[2], argv[3], int(argv[4]), argv[5], argv[6], int(argv[7]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
