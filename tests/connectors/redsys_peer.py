#!/usr/bin/python3
"""A Redsys-compatible gateway for the payment connector's tests, on 127.0.0.1.

Usage: /usr/bin/python3 redsys_peer.py SECRET_B64 READY_FILE

Writes its port to READY_FILE once it listens. It checks every signature it receives on its
own (HMAC-SHA256 from Python, the per-order 3DES key from `openssl enc -des-ede3-cbc -nopad`,
since Python has no 3DES), so it can only agree with the connector if both follow DOMAIN.md
9.3.

POST /sis/realizarPago   the citizen's browser posting our redirect form. Besides the three
    Ds_ fields the test adds what the simulated cardholder and bank do:
      test_response  the Ds_Response to notify (default 0000)
      test_amount    notify this amount instead of the ordered one (a gateway gone wrong)
      test_query     "forged": sign later query answers for this order with another key;
                     "unavailable": answer later queries for it with HTTP 503
      test_notify    "lost": never send the notification (reconciliation must find it)
    A bad form is answered 400 "SIS0042 ..." (signature) or "SIS00xx ...". Otherwise 200, and
    then, from another thread, the signed notification is POSTed to DS_MERCHANT_MERCHANTURL
    (Ds_Signature in URL-safe Base64, as the real gateway does).
GET /test/notification?order=ORDER  the form body of the notification sent for ORDER (404
    if none was sent), so a test can replay it exactly.
POST /sis/rest/consulta  the reconciliation query: a JSON body with the three signed fields.
    Answers the order's operation signed like a notification, {"errorCode": "SIS0042"} for a
    bad signature, or {"errorCode": "SIS9999"} (this peer's code) for an unknown order.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = base64.b64decode(sys.argv[1])
OTHER_SECRET = bytes(24)
ORDERS = {}
LOCK = threading.Lock()


def derived_key(secret, order):
    data = order.encode()
    data += b"\0" * (-len(data) % 8)
    result = subprocess.run(
        ["openssl", "enc", "-des-ede3-cbc", "-nopad", "-K", secret.hex(), "-iv", "0" * 16],
        input=data, capture_output=True, check=True)
    return result.stdout


def sign(secret, order, params_b64, urlsafe=False):
    mac = hmac.new(derived_key(secret, order), params_b64.encode(), hashlib.sha256).digest()
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(mac).decode()


def check_signed(version, params_b64, signature, order_key):
    """Returns (params, None) or (None, "SISxxxx reason")."""
    if version != "HMAC_SHA256_V1":
        return None, "SIS0429 Ds_SignatureVersion: expected HMAC_SHA256_V1"
    try:
        params = json.loads(base64.b64decode(params_b64, validate=True))
    except ValueError:
        return None, "SIS0030 Ds_MerchantParameters: not Base64 of JSON"
    order = params.get(order_key, "")
    if not (4 <= len(order) <= 12 and order[:4].isdigit() and order.isalnum()):
        return None, "SIS0074 %s: not a well-formed order number" % order_key
    if not hmac.compare_digest(sign(SECRET, order, params_b64), signature):
        return None, "SIS0042 Ds_Signature: signature error"
    return params, None


def signed_fields(secret, doc, urlsafe):
    params_b64 = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
    return {"Ds_SignatureVersion": "HMAC_SHA256_V1", "Ds_MerchantParameters": params_b64,
            "Ds_Signature": sign(secret, doc["Ds_Order"], params_b64, urlsafe)}


def operation(order, o):
    return {"Ds_Date": "14%2F05%2F2026", "Ds_Hour": "10%3A32", "Ds_SecurePayment": "1",
            "Ds_Amount": o["amount"], "Ds_Currency": "978", "Ds_Order": order,
            "Ds_MerchantCode": o["merchant"], "Ds_Terminal": o["terminal"].zfill(3),
            "Ds_Response": o["response"], "Ds_MerchantData": "", "Ds_TransactionType": "0",
            "Ds_ConsumerLanguage": "1",
            "Ds_AuthorisationCode": "002413" if int(o["response"]) <= 99 else ""}


def notify(order, o):
    body = urllib.parse.urlencode(signed_fields(SECRET, operation(order, o), True)).encode()
    with LOCK:
        o["sent"] = body.decode()
    request = urllib.request.Request(o["merchant_url"], data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, text, content_type="text/plain; charset=utf-8"):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        order = urllib.parse.parse_qs(url.query).get("order", [""])[0]
        with LOCK:
            sent = ORDERS.get(order, {}).get("sent")
        if url.path != "/test/notification" or sent is None:
            return self.answer(404, "no notification sent for order %s" % order)
        self.answer(200, sent, "application/x-www-form-urlencoded")

    def do_POST(self):
        if self.path == "/sis/realizarPago":
            self.pay(dict(urllib.parse.parse_qsl(self.body(), keep_blank_values=True)))
        elif self.path == "/sis/rest/consulta":
            self.query(json.loads(self.body()))
        else:
            self.answer(404, "no such endpoint")

    def pay(self, form):
        params, error = check_signed(form.get("Ds_SignatureVersion"),
                                     form.get("Ds_MerchantParameters", ""),
                                     form.get("Ds_Signature", ""), "DS_MERCHANT_ORDER")
        if error:
            return self.answer(400, error)
        if params.get("DS_MERCHANT_CURRENCY") != "978" or \
                params.get("DS_MERCHANT_TRANSACTIONTYPE") != "0" or \
                not params.get("DS_MERCHANT_AMOUNT", "").isdigit():
            return self.answer(400, "SIS0018 amount, currency or transaction type not accepted")
        order = params["DS_MERCHANT_ORDER"]
        o = {"amount": form.get("test_amount", params["DS_MERCHANT_AMOUNT"]),
             "merchant": params["DS_MERCHANT_MERCHANTCODE"],
             "terminal": params["DS_MERCHANT_TERMINAL"],
             "response": form.get("test_response", "0000"),
             "merchant_url": params["DS_MERCHANT_MERCHANTURL"],
             "forged_query": form.get("test_query") == "forged",
             "query_down": form.get("test_query") == "unavailable"}
        with LOCK:
            if order in ORDERS:
                return self.answer(400, "SIS0051 order %s repeated" % order)
            ORDERS[order] = o
        self.answer(200, "order %s response %s" % (order, o["response"]))
        if form.get("test_notify") != "lost":
            threading.Thread(target=notify, args=(order, o)).start()

    def query(self, doc):
        params, error = check_signed(doc.get("Ds_SignatureVersion"),
                                     doc.get("Ds_MerchantParameters", ""),
                                     doc.get("Ds_Signature", ""), "DS_MERCHANT_ORDER")
        if error:
            return self.answer(200, json.dumps({"errorCode": error.split()[0]}),
                               "application/json")
        order = params["DS_MERCHANT_ORDER"]
        with LOCK:
            o = ORDERS.get(order)
        if not o:
            return self.answer(200, json.dumps({"errorCode": "SIS9999"}), "application/json")
        if o["query_down"]:
            return self.answer(503, "down for maintenance")
        secret = OTHER_SECRET if o["forged_query"] else SECRET
        self.answer(200, json.dumps(signed_fields(secret, operation(order, o), False)),
                    "application/json")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    server.serve_forever()


if __name__ == "__main__":
    main()
