"""Many IMAP and POP3 clients at once (imaplib, poplib, implicit TLS) log in with a wrong
password: the password checks run in the engine's bounded pool, so past its queue the
excess is refused at once and temporarily — IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`
— while the rest are checked and refused as wrong. Every attempt gets an answer. The
clients come from 30 loopback addresses (10 each), within the per-address caps.

Then the per-address connection caps over the plain ports: one address holding its share
(POP3 20, IMAP 50) is refused the next connection, while another address is greeted.
Prints the counts; ends with ALL OK."""
import imaplib
import os
import poplib
import socket
import threading

from common import HOST, ctx, expect

IMAPS = int(os.environ["IMAPS"])
IMAP = int(os.environ["IMAP"])
POP3S = int(os.environ["POP3S"])
POP3 = int(os.environ["POP3"])
USER = os.environ["USER_ADDR"]
N = int(os.environ.get("N", "150"))

outcomes = {}
lock = threading.Lock()
ready = threading.Barrier(2 * N)


def count(kind, what):
    with lock:
        key = (kind, what)
        outcomes[key] = outcomes.get(key, 0) + 1


def source(i):
    return ("127.0.1.%d" % (1 + i % 30), 0)


class SourcedIMAP(imaplib.IMAP4_SSL):
    def __init__(self, i):
        self._src = source(i)
        super().__init__(HOST, IMAPS, ssl_context=ctx, timeout=120)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=self._src)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class SourcedPOP3(poplib.POP3_SSL):
    def __init__(self, i):
        self._src = source(i)
        super().__init__(HOST, POP3S, context=ctx, timeout=120)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=self._src)
        return self.context.wrap_socket(sock, server_hostname=self.host)


def imap_login(i):
    what = "no answer"
    try:
        c = SourcedIMAP(i)
        ready.wait()
        try:
            c.login(USER, "wrong password %d" % i)
            what = "logged in"
        except imaplib.IMAP4.error as e:
            text = str(e)
            what = "UNAVAILABLE" if "[UNAVAILABLE]" in text else "refused" if "[AUTHENTICATIONFAILED]" in text or "locked" in text else text
        try:
            c.logout()
        except Exception:
            pass
    except Exception as e:  # noqa: BLE001 - any other failure is a finding
        what = "%s: %s" % (type(e).__name__, e)
    count("imap", what)


def pop3_login(i):
    what = "no answer"
    try:
        c = SourcedPOP3(i)
        c.user(USER)
        ready.wait()
        try:
            c.pass_("wrong password %d" % i)
            what = "logged in"
        except poplib.error_proto as e:
            text = e.args[0].decode(errors="replace")
            what = "SYS/TEMP" if "[SYS/TEMP]" in text else "refused" if "[AUTH]" in text else text
        try:
            c.quit()
        except Exception:
            pass
    except Exception as e:  # noqa: BLE001
        what = "%s: %s" % (type(e).__name__, e)
    count("pop3", what)


threads = [threading.Thread(target=imap_login, args=(i,)) for i in range(N)]
threads += [threading.Thread(target=pop3_login, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("answers:", outcomes)
expect(set(outcomes) <= {("imap", "UNAVAILABLE"), ("imap", "refused"), ("pop3", "SYS/TEMP"), ("pop3", "refused")},
       "every attempt answered: a busy refusal or a checked refusal")
expect(outcomes.get(("imap", "UNAVAILABLE"), 0) + outcomes.get(("pop3", "SYS/TEMP"), 0) >= 1,
       "past the hashing queue, logins are refused as busy")
expect(outcomes.get(("imap", "UNAVAILABLE"), 0) >= 1, "IMAP says NO [UNAVAILABLE] past the queue")
expect(outcomes.get(("pop3", "SYS/TEMP"), 0) >= 1, "POP3 says -ERR [SYS/TEMP] past the queue")
expect(outcomes.get(("imap", "refused"), 0) >= 1 and outcomes.get(("pop3", "refused"), 0) >= 1,
       "the others are checked and refused as wrong")


def greeting(port, src):
    s = socket.create_connection((HOST, port), timeout=30, source_address=(src, 0))
    s.settimeout(30)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = s.recv(1024)
        if not chunk:
            break
        data += chunk
    return s, data.decode(errors="replace")


for name, port, share, full in (("POP3", POP3, 20, "-ERR [SYS/TEMP] Too many connections from your address"),
                                ("IMAP", IMAP, 50, "* BYE Too many connections")):
    held = [greeting(port, "127.0.2.1") for _ in range(share)]
    expect(all(g.startswith("+OK" if name == "POP3" else "* OK") for _, g in held),
           "%s: the address's %d connections are greeted" % (name, share))
    s, over = greeting(port, "127.0.2.1")
    expect(over.startswith(full), "%s: connection %d from the same address is refused: %r" % (name, share + 1, over))
    s.close()
    s, other = greeting(port, "127.0.2.2")
    expect(other.startswith("+OK" if name == "POP3" else "* OK"), "%s: another address is greeted: %r" % (name, other))
    s.close()
    for h, _ in held:
        h.close()
print("ALL OK")
