#!/usr/bin/python3
"""A real HTTP SMS gateway for the SMS connector tests, on 127.0.0.1 and a port the kernel picks.

Usage: /usr/bin/python3 sms_peer.py FOLDER READY_FILE

Serves until killed and writes its port to READY_FILE once it listens. Each request becomes
FOLDER/N.json (method, path, headers as received, raw body, and its fields parsed as JSON or as
a form by Python's own json and urllib.parse, independently of the C code). Like a gateway that
honours idempotency, it sends one SMS per reference (the body's "ref" field, else the
Idempotency-Key header): each new one becomes FOLDER/sms/N.json with the fields and the id it
was given; a repeat gets the same id and sends nothing. Every file is written before the answer
and renamed into place. What it answers depends on the path:
  /send           200 {"messages": [{"id": "gw-N", "status": "queued"}]}
  /status/NNN     status NNN, body "gateway says NNN; auth was <the auth header it got>" (a
                  careless gateway that echoes credentials)
  /slow/MS        waits MS milliseconds, then as /send
"""
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def write_atomically(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def fields_of(content_type, body):
    text = body.decode("utf-8")
    if content_type.startswith("application/json"):
        return json.loads(text)
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    return None


class QuietServer(ThreadingHTTPServer):
    """A client that gave up mid-request (the timeout test) is not an error here."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    requests = 0
    sent = {}  # reference -> gateway id

    def log_message(self, fmt, *args):
        pass

    def record(self, body, fields):
        doc = {
            "method": self.command,
            "path": self.path,
            "header_names": list(self.headers.keys()),
            "headers": {name: value for name, value in self.headers.items()},
            "body": body.decode("utf-8"),
            "fields": fields,
        }
        with Handler.lock:
            Handler.requests += 1
            n = Handler.requests
        write_atomically(os.path.join(self.server.folder, "%d.json" % n),
                         json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    def send_sms(self, fields):
        ref = (fields or {}).get("ref") or self.headers.get("Idempotency-Key", "")
        with Handler.lock:
            if ref in Handler.sent:
                return Handler.sent[ref]
            n = len(Handler.sent) + 1
            gid = "gw-%d" % n
            Handler.sent[ref] = gid
            record = {"id": gid, "fields": fields}
            write_atomically(os.path.join(self.server.folder, "sms", "%d.json" % n),
                             json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return gid

    def answer(self, status, body=b"", content_type="text/plain; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def accepted(self, fields):
        gid = self.send_sms(fields)
        doc = {"messages": [{"id": gid, "status": "queued"}]}
        self.answer(200, json.dumps(doc).encode(), "application/json")

    def handle_one(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            fields = fields_of(self.headers.get("Content-Type", ""), body)
        except ValueError:
            fields = None
        self.record(body, fields)
        parts = self.path.split("?")[0].strip("/").split("/")
        try:
            if parts[0] == "send":
                self.accepted(fields)
            elif parts[0] == "status":
                auth = self.headers.get("Authorization", "(none)")
                self.answer(int(parts[1]),
                            ("gateway says %s; auth was %s" % (parts[1], auth)).encode())
            elif parts[0] == "slow":
                time.sleep(int(parts[1]) / 1000)
                self.accepted(fields)
            else:
                self.answer(404, b"no such path")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    do_POST = handle_one
    do_PUT = handle_one


def main():
    folder, ready = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(folder, "sms"), exist_ok=True)
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.folder = folder
    write_atomically(ready, str(server.socket.getsockname()[1]).encode())
    server.serve_forever()


if __name__ == "__main__":
    main()
