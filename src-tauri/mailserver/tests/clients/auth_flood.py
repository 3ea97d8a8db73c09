"""Many clients at once try SMTP AUTH with a wrong password (smtplib, STARTTLS on the
submission port). Each attempt must get an answer: 535 (checked and wrong) or 454 (the
password checks are full: a temporary refusal, given at once). Then a right password
still logs in from another address (the flooding ones, 127.0.1.x, are locked out of the
account by then). The attempts come from 50 loopback addresses, six each, to stay within
the per-address connection share. Prints the counts; ends with ALL OK."""
import os
import smtplib
import ssl
import threading

HOST = "127.0.0.1"
PORT = int(os.environ["SUBMISSION"])
N = int(os.environ.get("N", "300"))
ctx = ssl.create_default_context(cafile=os.environ["CA"])
ctx.check_hostname = False
USER = os.environ["USER_ADDR"]
PASS = os.environ["PASS"]

codes = {}
lock = threading.Lock()
ready = threading.Barrier(N)


def attempt(i):
    code = "no answer"
    try:
        c = smtplib.SMTP(HOST, PORT, timeout=120, source_address=("127.0.1.%d" % (1 + i % 50), 0))
        c.starttls(context=ctx)
        c.ehlo()
        c.user, c.password = USER, "wrong password %d" % i
        ready.wait()
        try:
            c.auth("PLAIN", c.auth_plain)
            code = 235
        except smtplib.SMTPAuthenticationError as e:
            code = e.smtp_code
        try:
            c.quit()
        except Exception:
            pass
    except Exception as e:  # noqa: BLE001 - any other failure is a finding
        code = "%s: %s" % (type(e).__name__, e)
    with lock:
        codes[code] = codes.get(code, 0) + 1


threads = [threading.Thread(target=attempt, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("answers:", codes)
assert set(codes) <= {535, 454}, codes
assert codes.get(454, 0) >= 1, "no attempt was refused as busy: %r" % codes
assert codes.get(535, 0) >= 1, "no attempt was checked: %r" % codes

c = smtplib.SMTP(HOST, PORT, timeout=120, source_address=("127.0.0.2", 0))
c.starttls(context=ctx)
c.ehlo()
c.login(USER, PASS)
c.quit()
print("ALL OK")
