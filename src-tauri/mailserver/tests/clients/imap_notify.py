"""NOTIFY (RFC 5465) with Python's imaplib: a client IDLEing in INBOX hears of new mail in
another folder (STATUS) and of a folder created and deleted (LIST), made by a second client.

Environment: IMAPS (implicit TLS), CA (the server's certificate), USER_ADDR, PASS. Each check
prints what it saw; any failure raises.
"""
import imaplib
import os

from common import HOST, ctx, expect

IMAPS = int(os.environ["IMAPS"])
USER, PASS = os.environ["USER_ADDR"], os.environ["PASS"]


def tagged(client, command):
    """Sends a raw command; returns (untagged lines, tagged line)."""
    tag = client._new_tag().decode()
    client.send(("%s %s\r\n" % (tag, command)).encode())
    lines = []
    while True:
        line = client.readline()
        if line.startswith(tag.encode()):
            return lines, line
        lines.append(line.strip())


watcher = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
watcher.login(USER, PASS)
typ, caps = watcher.capability()
expect(b"NOTIFY" in caps[0].split(), "NOTIFY is offered after login")
other = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
other.login(USER, PASS)
other.create("Reports")
watcher.select("INBOX")

# Refused: an event not offered, and MessageNew without MessageExpunge.
_, done = tagged(watcher, "NOTIFY SET (PERSONAL (AnnotationChange))")
expect(b"NO [BADEVENT" in done, "an event not offered is refused with BADEVENT: %r" % done)
_, done = tagged(watcher, "NOTIFY SET (PERSONAL (MessageNew))")
expect(b"BAD" in done, "MessageNew alone is refused: %r" % done)

lines, done = tagged(watcher, "NOTIFY SET STATUS (MAILBOXES Reports (MessageNew MessageExpunge)) (PERSONAL (MailboxName))")
expect(b"OK" in done, "NOTIFY SET accepted")
expect(any(l.startswith(b"* STATUS Reports (MESSAGES 0 ") for l in lines), "the STATUS of Reports at once: %r" % lines)

tag = watcher._new_tag().decode()
watcher.send(("%s IDLE\r\n" % tag).encode())
expect(watcher.readline().startswith(b"+"), "IDLE accepted")
watcher.sock.settimeout(30)  # a hang fails the test; no timing is asserted

other.append("Reports", None, None, b"From: a@example.com\r\nSubject: q3\r\n\r\nnumbers\r\n")
line = watcher.readline().strip()
expect(line.startswith(b"* STATUS Reports (MESSAGES 1 "), "new mail in Reports told during IDLE: %r" % line)

other.create("Projects")
line = watcher.readline().strip()
expect(line == b'* LIST () "/" Projects', "a new folder told during IDLE: %r" % line)
other.delete("Projects")
line = watcher.readline().strip()
expect(line == b'* LIST (\\NonExistent) "/" Projects', "a deleted folder told during IDLE: %r" % line)

watcher.send(b"DONE\r\n")
while True:
    line = watcher.readline()
    if line.startswith(tag.encode()):
        expect(b"OK" in line, "IDLE ended with OK")
        break

# NOTIFY NONE: nothing more is told.
_, done = tagged(watcher, "NOTIFY NONE")
expect(b"OK" in done, "NOTIFY NONE accepted")
other.append("Reports", None, None, b"From: a@example.com\r\nSubject: q4\r\n\r\nmore\r\n")
lines, _ = tagged(watcher, "NOOP")
expect(not any(b"STATUS" in l for l in lines), "no STATUS after NOTIFY NONE: %r" % lines)
other.logout()
watcher.logout()
print("ALL OK")
