"""IMAP as a mail client uses it, with Python's imaplib (a client no one here wrote).

Environment: IMAP (STARTTLS port), IMAPS (implicit TLS), SUBMISSION, CA (the
server's certificate), USER_ADDR, PASS. Each check prints what it saw; any failure raises.
"""
import imaplib
import os
import smtplib
import socket
import time

from common import HOST, ctx, expect

IMAP, IMAPS, SUBMISSION = int(os.environ["IMAP"]), int(os.environ["IMAPS"]), int(os.environ["SUBMISSION"])
USER, PASS = os.environ["USER_ADDR"], os.environ["PASS"]


# 1. Before TLS: no login. After STARTTLS: login works.
plain = imaplib.IMAP4(HOST, IMAP)
expect("LOGINDISABLED" in plain.capabilities and "STARTTLS" in plain.capabilities, "LOGINDISABLED and STARTTLS before TLS")
try:
    plain.login(USER, PASS)
    raise AssertionError("login before TLS was accepted")
except imaplib.IMAP4.error as e:
    expect("PRIVACYREQUIRED" in str(e) or "TLS" in str(e), "login before TLS refused: %s" % e)
plain.starttls(ssl_context=ctx)
typ, _ = plain.login(USER, PASS)
expect(typ == "OK", "login after STARTTLS")
plain.logout()

# 2. Implicit TLS: folders, append (as clients save Sent), fetch, search, store, copy, move, expunge.
c = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
c.login(USER, PASS)
typ, lines = c.list()
names = b"\n".join(lines)
for special in [b"\\Sent", b"\\Drafts", b"\\Junk", b"\\Trash"]:
    expect(special in names, "LIST shows %s" % special.decode())
typ, _ = c.create("Projekte/2026")
expect(typ == "OK", "CREATE with a level")
typ, lines = c.list('""', "Projekte/*")
expect(any(b"Projekte/2026" in l for l in lines), "the new folder is listed")
msg = b"From: Ann <ann@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo Welt, sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe\r\n"
typ, data = c.append("Sent", "(\\Seen)", None, msg)
expect(typ == "OK" and b"APPENDUID" in data[0], "APPEND to Sent answers APPENDUID: %r" % data)
typ, data = c.select("Sent")
expect(typ == "OK" and int(data[0]) == 1, "SELECT Sent: 1 message")
typ, data = c.fetch("1", "(BODY.PEEK[] FLAGS RFC822.SIZE)")
expect(data[0][1] == msg, "BODY[] gives the bytes back exactly")
typ, data = c.fetch("1", "(FLAGS RFC822.SIZE)")
expect(b"\\Seen" in data[0] and (b"RFC822.SIZE %d" % len(msg)) in data[0], "flags and size: %r" % data)
typ, data = c.search("UTF-8", "BODY", '"schöne"'.encode())
expect(data[0] == b"1", "SEARCH BODY in UTF-8 finds the decoded text")
typ, data = c.uid("SEARCH", "SUBJECT", "nothing-like-this")
expect(data[0] == b"", "SEARCH with no hit")
typ, data = c.store("1", "+FLAGS", "(\\Flagged $Work)")
expect(b"\\Flagged" in data[0] and b"$Work" in data[0], "STORE adds a system flag and a keyword")
typ, data = c.uid("COPY", "1", "Projekte/2026")
expect(typ == "OK", "UID COPY")
typ, data = c.uid("MOVE", "1", "Drafts")
expect(typ == "OK", "UID MOVE")
typ, data = c.select("Sent")
expect(int(data[0]) == 0, "moved away from Sent")
typ, data = c.select("Drafts")
expect(int(data[0]) == 1, "moved into Drafts")
c.store("1", "+FLAGS", "(\\Deleted)")
typ, data = c.expunge()
expect(data == [b"1"], "EXPUNGE reports the message: %r" % data)
typ, data = c.status("Projekte/2026", "(MESSAGES UNSEEN UIDNEXT)")
expect(b"MESSAGES 1" in data[0] and b"UIDNEXT 2" in data[0], "STATUS of the copy's folder: %r" % data)
typ, data = c.getquotaroot("INBOX")
expect(typ == "OK" and any(b"STORAGE" in (d if isinstance(d, bytes) else b"".join(d)) for d in data[1]), "QUOTA: %r" % (data,))
c.delete("Projekte/2026")
c.delete("Projekte")
c.logout()

# 3. A message delivered by SMTP reaches an IDLEing client without it asking.
idler = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
idler.login(USER, PASS)
typ, data = idler.select("INBOX")
before = int(data[0])
tag = idler._new_tag().decode()
idler.send(("%s IDLE\r\n" % tag).encode())
expect(idler.readline().startswith(b"+"), "IDLE accepted")
with smtplib.SMTP(HOST, SUBMISSION) as s:
    s.starttls(context=ctx)
    s.login(USER, PASS)
    s.sendmail(USER, [USER], b"From: %s\r\nSubject: pushed\r\n\r\nhello\r\n" % USER.encode())
idler.sock.settimeout(30)  # a hang fails the test; no timing is asserted
line = idler.readline()
expect(line.strip() == b"* %d EXISTS" % (before + 1), "IDLE pushed the delivery: %r" % line)
idler.send(b"DONE\r\n")
while True:
    line = idler.readline()
    if line.startswith(tag.encode()):
        expect(b"OK" in line, "IDLE ended with OK")
        break
idler.logout()
print("ALL OK")
