#!/usr/bin/env python3
"""An HTTPS server for the MTA-STS tests: serves each domain's policy file.

    mta_sts_policy.py CERT KEY POLICY_DIR

Listens on 127.0.0.1 at a free port (printed as "port N" once listening), with the
certificate CERT (PEM, a test CA's, naming every mta-sts.<domain> host) and KEY, and answers
GET /.well-known/mta-sts.txt with POLICY_DIR/<host name without port> as text/plain; any
other path or host is 404. Stops on SIGTERM.
"""

import http.server
import os
import ssl
import sys

CERT, KEY, POLICIES = sys.argv[1:4]


class Policy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = os.path.join(POLICIES, os.path.basename(host))
        if self.path != "/.well-known/mta-sts.txt" or not host or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Policy)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
