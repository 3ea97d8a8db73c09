"""What a client is told when the account may not read mail (imaplib over implicit TLS)."""
import imaplib
import os
import ssl

HOST = "127.0.0.1"
IMAPS = int(os.environ["IMAPS"])
ctx = ssl.create_default_context(cafile=os.environ["CA"])
ctx.check_hostname = False
PASS = os.environ["PASS"]


def refused(user, password, needle):
    c = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
    try:
        c.login(user, password)
        raise AssertionError("%s logged in" % user)
    except imaplib.IMAP4.error as e:
        text = str(e)
        if needle not in text:
            raise AssertionError("%s: %r has no %r" % (user, text, needle))
        print("ok:", user, "->", text)
    finally:
        try:
            c.logout()
        except Exception:
            pass


refused(os.environ["OFF"], PASS, "IMAP is switched off")
refused(os.environ["FIRST"], PASS, "change your password")
refused(os.environ["FIRST"], PASS, "sign in to the Postdesk user portal at https://mail.example.com:8443/#/portal")
refused(os.environ["OK_USER"], "wrong", "AUTHENTICATIONFAILED")
print("ALL OK")
