#!/usr/bin/env python3
"""A real HTTP receiver for Storey's delivery tests.

It verifies Standard Webhooks signatures with the `standardwebhooks` library (or a group bot's signing),
answers as told (fail the first N requests with a status, Retry-After, answer slowly, 410), and appends
one JSON line per request to --log: webhook-id, whether the signature verified, the status answered,
whether the id was seen before (a duplicate), and the parsed body.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--secret", action="append", default=[], help="whsec_ secret to verify with (any may match)")
parser.add_argument("--mode", default="standard", choices=["standard", "wecom", "dingtalk", "feishu", "slack"])
parser.add_argument("--bot-secret", help="DingTalk / Feishu signing secret")
parser.add_argument("--fail-first", type=int, default=0, help="answer the first N requests with --status")
parser.add_argument("--status", type=int, default=500)
parser.add_argument("--retry-after", help="Retry-After header for failed answers")
parser.add_argument("--delay-first", type=int, default=0, help="answer the first N requests after --delay seconds")
parser.add_argument("--delay", type=float, default=0)
args = parser.parse_args()

lock = threading.Lock()
state = {"requests": 0, "seen": set()}


def verify_standard(body, headers):
    if not args.secret:
        return True
    for secret in args.secret:
        try:
            Webhook(secret).verify(body, headers)
            return True
        except Exception:
            pass
    return False


def verify_dingtalk(query):
    timestamp = query.get("timestamp", [""])[0]
    sign = query.get("sign", [""])[0]
    digest = hmac.new(args.bot_secret.encode(), f"{timestamp}\n{args.bot_secret}".encode(), hashlib.sha256).digest()
    fresh = abs(time.time() * 1000 - int(timestamp or 0)) < 3600_000
    return fresh and hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def verify_feishu(payload):
    timestamp = payload.get("timestamp", "")
    key = f"{timestamp}\n{args.bot_secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, payload.get("sign", ""))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the client's delayed
    # ACK hold every answer for 40 ms on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        with lock:
            state["requests"] += 1
            number = state["requests"]
        if number <= args.delay_first and args.delay > 0:
            time.sleep(args.delay)
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urllib.parse.urlparse(self.path)
        try:
            payload = json.loads(body)
        except Exception:
            payload = None
        if args.mode == "standard":
            verified = verify_standard(body.decode(), headers)
        elif args.mode == "dingtalk":
            verified = args.bot_secret is None or verify_dingtalk(urllib.parse.parse_qs(url.query))
        elif args.mode == "feishu":
            verified = args.bot_secret is None or verify_feishu(payload or {})
        else:
            verified = True
        status = 200
        extra = {}
        if number <= args.fail_first:
            status = args.status
            if args.retry_after:
                extra["Retry-After"] = args.retry_after
        elif not verified:
            status = 401
        webhook_id = headers.get("webhook-id")
        with lock:
            duplicate = status == 200 and webhook_id in state["seen"]
            if status == 200 and webhook_id:
                state["seen"].add(webhook_id)
            with open(args.log, "a") as log:
                log.write(json.dumps({
                    "n": number, "id": webhook_id, "timestamp": headers.get("webhook-timestamp"),
                    "signature": headers.get("webhook-signature"), "verified": verified, "status": status,
                    "duplicate": duplicate, "path": self.path, "body": payload, "at": time.time(),
                }) + "\n")
        if status == 200:
            answer = {"standard": b"{}", "slack": b"ok"}.get(args.mode)
            if answer is None:
                answer = json.dumps({"code": 0, "msg": "success"} if args.mode == "feishu" else {"errcode": 0, "errmsg": "ok"}).encode()
        else:
            answer = json.dumps({"error": status}).encode()
        try:
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass



def exit_with_parent(parent=os.getppid()):
    """A test that crashed cannot stop its servers: they stop themselves when their parent is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()

server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
print("listening", flush=True)
server.serve_forever()
