#!/usr/bin/python3
"""A real RFC 3161 TSA over HTTP for the signature tests: each POSTed TimeStampReq is answered
by `openssl ts -reply` with the test PKI's TSA key. Usage: tsa_peer.py PKI-DIR. It listens on a
free loopback port and prints that port on the first line of its output.

Paths that misbehave, to check the client: /other-hash answers for another imprint (keeping the
nonce), /other-nonce answers for the same imprint with another nonce."""
import http.server
import os
import subprocess
import sys
import tempfile

PKI = sys.argv[1]
SHA256_OID = bytes.fromhex("0609608648016503040201")

CONFIG = """
[tsa]
default_tsa = test
[test]
serial = {pki}/tsa.serial
signer_cert = {pki}/tsa.pem
signer_key = {pki}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.61468.9.9
digests = sha256, sha384, sha512
ess_cert_id_alg = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
crypto_device = builtin
"""


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def imprint_of(query):
    at = query.index(SHA256_OID) + len(SHA256_OID)
    at = query.index(b"\x04\x20", at) + 2
    return query[at:at + 32]


def replace_imprint(query, digest):
    at = query.index(SHA256_OID) + len(SHA256_OID)
    at = query.index(b"\x04\x20", at) + 2
    return query[:at] + digest + query[at + 32:]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers["Content-Length"]))
        with tempfile.TemporaryDirectory() as tmp:
            q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            if self.path == "/other-hash":
                query = replace_imprint(query, bytes(32))
            if self.path == "/other-nonce":
                openssl("ts", "-query", "-digest", imprint_of(query).hex(), "-sha256", "-cert", "-out", q)
            else:
                with open(q, "wb") as f:
                    f.write(query)
            openssl("ts", "-reply", "-config", os.path.join(PKI, "tsa.cnf"), "-queryfile", q, "-out", r)
            with open(r, "rb") as f:
                reply = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


with open(os.path.join(PKI, "tsa.cnf"), "w") as f:
    f.write(CONFIG.format(pki=PKI))
with open(os.path.join(PKI, "tsa.serial"), "w") as f:
    f.write("01\n")
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
