#!/usr/bin/env python3
"""A small SMTP server for the outbound tests that records what it is told, per connection.

    recording_smtp.py PORT LOG [EXTENSION ...]

Listens on 127.0.0.1:PORT (0: a free port, printed as "port N" on stdout once listening),
offers the EHLO extensions named (e.g. PIPELINING "SIZE 1000000" 8BITMIME SMTPUTF8), accepts
every transaction, and appends one JSON line per command to LOG:
{"conn": <connection number>, "line": "<the command line>"} and, after DATA,
{"conn": n, "message_bytes": <size>}. Commands are answered one by one as they arrive, so
a pipelining client is served too. STARTTLS (when offered) is agreed to and then answered
with plain text: a broken TLS stack. Stops on SIGTERM.
"""

import json
import socketserver
import sys
import threading

PORT, LOG, EXTENSIONS = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
lock = threading.Lock()
counter = [0]


def log(record):
    with lock, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


class Session(socketserver.StreamRequestHandler):
    def handle(self):
        with lock:
            counter[0] += 1
            conn = counter[0]
        send = lambda text: (self.wfile.write(text.encode() + b"\r\n"), self.wfile.flush())
        send("220 recorder ESMTP")
        while True:
            raw = self.rfile.readline(100_000)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            log({"conn": conn, "line": line})
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = ["recorder"] + EXTENSIONS
                for i, ext in enumerate(lines):
                    send(("250 " if i == len(lines) - 1 else "250-") + ext)
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                send("250 2.0.0 ok")
            elif verb == "DATA":
                send("354 go ahead")
                size = 0
                while True:
                    chunk = self.rfile.readline(1_000_000)
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    size += len(chunk)
                log({"conn": conn, "message_bytes": size})
                send("250 2.0.0 queued")
            elif verb == "STARTTLS":
                # A broken TLS stack: agrees, then answers the handshake with plain text.
                send("220 2.0.0 ready")
                self.wfile.write(b"this is not TLS\r\n" * 8)
                self.wfile.flush()
                return
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                return
            else:
                send("502 5.5.2 not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", PORT), Session) as server:
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()
