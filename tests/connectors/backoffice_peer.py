#!/usr/bin/python3
"""A real HTTP subscriber for the integration bus tests, on 127.0.0.1 and a port the kernel picks.

Usage: /usr/bin/python3 backoffice_peer.py FOLDER READY_FILE SECRET
       /usr/bin/python3 backoffice_peer.py sign SECRET TIMESTAMP BODY_FILE

The first form serves until killed and writes its port to READY_FILE once it listens. Each
request becomes FOLDER/N.json (method, path, headers as received, body, and whether the
X-Tramit-Signature verifies with SECRET, checked here with Python's hmac, independently of
the C code), written before the answer and renamed into place. What it answers depends on the
path:
  /hook             204
  /status/NNN       status NNN with the body "peer says NNN"
  /slow/MS          waits MS milliseconds, then 204
  /lookup/NAME      200 {"contract": ..., "params": ..., "served": N}, N counting requests
  /lookup-slow/MS   waits MS milliseconds, then as /lookup
The second form prints the X-Tramit-Signature of BODY_FILE's bytes at TIMESTAMP: a callback
signed the way a back-office system would sign it.
"""
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature(secret, timestamp, body):
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def write_atomically(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


class QuietServer(ThreadingHTTPServer):
    """A client killed mid-request (the fault test kills servers) is not an error here."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a production subscriber would
    lock = threading.Lock()
    count = 0
    lookups = 0

    def log_message(self, fmt, *args):
        pass

    def record(self, body):
        given = self.headers.get("X-Tramit-Signature", "")
        ts = self.headers.get("X-Tramit-Timestamp", "")
        want = signature(self.server.secret, ts, body)
        doc = {
            "method": self.command,
            "path": self.path,
            "header_names": list(self.headers.keys()),
            "headers": {name: value for name, value in self.headers.items()},
            "body": body.decode("utf-8"),
            "signature_valid": hmac.compare_digest(given, want),
            "timestamp_age": int(time.time()) - int(ts) if ts.isdigit() else None,
        }
        with Handler.lock:
            Handler.count += 1
            n = Handler.count
        write_atomically(os.path.join(self.server.folder, "%d.json" % n),
                         json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    def answer(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def lookup(self, body):
        with Handler.lock:
            Handler.lookups += 1
            served = Handler.lookups
        question = json.loads(body)
        answer = {"contract": question["contract"], "params": question["params"],
                  "served": served}
        self.answer(200, json.dumps(answer).encode(), "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.record(body)
        parts = self.path.split("?")[0].strip("/").split("/")
        try:
            if parts[0] == "hook":
                self.answer(204)
            elif parts[0] == "status":
                self.answer(int(parts[1]), ("peer says %s" % parts[1]).encode())
            elif parts[0] == "slow":
                time.sleep(int(parts[1]) / 1000)
                self.answer(204)
            elif parts[0] == "lookup":
                self.lookup(body)
            elif parts[0] == "lookup-slow":
                time.sleep(int(parts[1]) / 1000)
                self.lookup(body)
            else:
                self.answer(404, b"no such path")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer


def main():
    if sys.argv[1] == "sign":
        with open(sys.argv[4], "rb") as f:
            print(signature(sys.argv[2], sys.argv[3], f.read()))
        return
    folder, ready, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.folder, server.secret = folder, secret
    write_atomically(ready, str(server.socket.getsockname()[1]).encode())
    server.serve_forever()


if __name__ == "__main__":
    main()
