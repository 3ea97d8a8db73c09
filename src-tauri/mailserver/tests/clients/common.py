"""What the client scripts share: the server's address, a TLS context that trusts the
server's certificate (CA), and `expect`, which prints each check and raises on a failure."""
import os
import ssl

HOST = "127.0.0.1"
ctx = ssl.create_default_context(cafile=os.environ["CA"])
ctx.check_hostname = False


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)
