"""An owner reads a shared mailbox over IMAP with Python's imaplib: NAMESPACE names the
shared namespace, LIST shows the desk's folders under Shared/<address>/, SELECT/FETCH/STORE
work there, COPY takes a message into the owner's own INBOX and APPEND files one in the
desk, its folders cannot be created or deleted by the owner, and someone who does not own
it sees none of it.

Environment: IMAPS, CA, PASS, OWNER, OTHER, DESK. Any failure raises.
"""
import imaplib
import os

from common import HOST, ctx, expect

IMAPS = int(os.environ["IMAPS"])
PASS, OWNER, OTHER, DESK = os.environ["PASS"], os.environ["OWNER"], os.environ["OTHER"], os.environ["DESK"]
INBOX = '"Shared/%s/INBOX"' % DESK

owner = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
owner.login(OWNER, PASS)
typ, ns = owner.namespace()
expect(typ == "OK" and b'(("Shared/" "/"))' in ns[0], "NAMESPACE has the shared namespace: %r" % ns)
typ, listed = owner.list()
names = [l.decode() for l in listed]
expect(any(n.endswith('"Shared/%s/INBOX"' % DESK) or n.endswith("Shared/%s/INBOX" % DESK) for n in names),
       "LIST shows the desk's INBOX: %r" % names)
expect(any(n.endswith("INBOX") and "Shared" not in n for n in names), "and the owner's own INBOX")

typ, data = owner.select(INBOX)
expect(typ == "OK" and data[0] == b"1", "SELECT the desk's INBOX: 1 message (%r)" % data)
typ, data = owner.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
expect(typ == "OK" and b"Subject: for the desk" in data[0][1], "FETCH reads it: %r" % data)
typ, data = owner.store("1", "+FLAGS", "(\\Flagged)")
expect(typ == "OK" and b"\\Flagged" in data[0], "STORE flags it: %r" % data)
typ, data = owner.copy("1", "INBOX")
expect(typ == "OK", "COPY into the owner's own INBOX: %r" % data)
typ, data = owner.append(INBOX, "(\\Seen)", None, b"Subject: filed by the owner\r\n\r\nhello\r\n")
expect(typ == "OK", "APPEND into the desk: %r" % data)
typ, data = owner.status(INBOX, "(MESSAGES)")
expect(typ == "OK" and b"MESSAGES 2" in data[0], "STATUS counts both: %r" % data)
typ, data = owner.create('"Shared/%s/Mine"' % DESK)
expect(typ == "NO", "CREATE inside the desk is refused: %r" % data)
typ, data = owner.delete(INBOX)
expect(typ == "NO", "DELETE of the desk's INBOX is refused: %r" % data)
owner.select("INBOX")
typ, data = owner.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
expect(typ == "OK" and b"for the desk" in data[0][1] and b"\\Flagged" in data[0][0],
       "the copy in the owner's INBOX keeps its flags: %r" % data)
owner.logout()

other = imaplib.IMAP4_SSL(HOST, IMAPS, ssl_context=ctx)
other.login(OTHER, PASS)
typ, listed = other.list()
expect(not any(b"Shared/" in l for l in listed), "someone else lists no shared folder: %r" % listed)
typ, data = other.select(INBOX)
expect(typ == "NO", "and cannot select the desk: %r" % data)
other.logout()
print("ALL OK")
