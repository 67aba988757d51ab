#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for Storey's delivery tests: STARTTLS, implicit TLS or plain; AUTH PLAIN
and LOGIN; some recipients refused. Each accepted mail is saved as N.eml, and Python's own email parser
writes N.json beside it: decoded subject, threading headers, MIME structure, each part's decoded text."""
import argparse
import asyncio
import json
import os
import ssl
import threading
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--mode", default="plain", choices=["plain", "starttls", "implicit"])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--refuse", action="append", default=[], help="recipient answered 550")
parser.add_argument("--defer", action="append", default=[], help="recipient answered 452 (mailbox full: try later)")
args = parser.parse_args()

lock = threading.Lock()
counter = {"n": 0}


def describe(part):
    info = {"type": part.get_content_type(), "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding")}
    if part.is_multipart():
        info["parts"] = [describe(p) for p in part.iter_parts()]
    else:
        info["text"] = part.get_content()
    return info


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.refuse:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if address in args.defer:
            return "452 4.2.2 <%s>: mailbox full, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        with lock:
            counter["n"] += 1
            number = counter["n"]
        summary = {
            "n": number, "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "auth": bool(getattr(session, "authenticated", False)), "mechanism": getattr(session, "storey_mechanism", None),
            "tls": session.ssl is not None,
            "subject": str(message["Subject"]), "raw_subject": None,
            "from": str(message["From"]), "to": str(message["To"]), "date": str(message["Date"]),
            "message_id": str(message["Message-ID"]), "in_reply_to": message.get("In-Reply-To"),
            "references": message.get("References"), "mime": describe(message),
        }
        # The subject exactly as on the wire (to see the RFC 2047 encoding).
        for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"subject:"):
                summary["raw_subject"] = line.decode("ascii", "replace")
        base = os.path.join(args.dir, "%06d" % number)
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        with open(base + ".json.tmp", "w") as f:
            json.dump(summary, f, ensure_ascii=False)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    session.storey_mechanism = mechanism
    ok = auth_data.login.decode() == args.user and auth_data.password.decode() == args.password
    return AuthResult(success=ok, handled=False)


context = None
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

kwargs = dict(hostname="127.0.0.1", port=args.port)
if args.user:
    # aiosmtpd does not see implicit TLS as TLS, so only STARTTLS can demand it before AUTH.
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=args.mode == "starttls")
if args.mode == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
elif args.mode == "implicit":
    kwargs.update(ssl_context=context)


def exit_with_parent(parent=os.getppid()):
    """A test that crashed cannot stop its servers: they stop themselves when their parent is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()

controller = Controller(Handler(), **kwargs)
controller.start()
print("listening", flush=True)
threading.Event().wait()
