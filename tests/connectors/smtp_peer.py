#!/usr/bin/python3
"""A real SMTP server for the connector tests: aiosmtpd on 127.0.0.1, on a port the kernel picks.

Usage: /usr/bin/python3 smtp_peer.py FOLDER READY_FILE [CERT KEY]

Writes the port to READY_FILE once it listens. Each accepted message becomes FOLDER/N.eml (the
bytes received) and FOLDER/N.json (envelope, headers decoded by Python's email package, body
text), the .json last and renamed into place, so a reader never sees half a message. With CERT
and KEY it offers STARTTLS and refuses mail without it. Recipients reject@... get a permanent
550, later@... a passing 451.
"""
import asyncio
import email
import email.policy
import json
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP


def write_atomically(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


class Handler:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "reject":
            return "550 5.1.1 No such mailbox"
        if local == "later":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "header_names": [name for name, _ in msg.items()],
            "headers": {name: str(value) for name, value in msg.items()},
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "transfer_encoding": msg.get("Content-Transfer-Encoding"),
            # The wire has CRLF line ends; the test compares text lines.
            "body": msg.get_content().replace("\r\n", "\n"),
        }
        base = os.path.join(self.folder, str(self.count))
        write_atomically(base + ".eml", raw)
        write_atomically(base + ".json", json.dumps(doc, ensure_ascii=False).encode("utf-8"))
        return "250 2.0.0 Message accepted"


async def main():
    folder, ready = sys.argv[1], sys.argv[2]
    options = {"hostname": "localhost"}
    if len(sys.argv) == 5:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        options.update(tls_context=context, require_starttls=True)
    handler = Handler(folder)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, **options), sock=sock)
    write_atomically(ready, str(sock.getsockname()[1]).encode())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
