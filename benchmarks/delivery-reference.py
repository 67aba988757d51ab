#!/usr/bin/env python3
"""The receivers' own ceiling, for benchmarks/delivery.sh: COUNT signed POSTs over one keep-alive
connection to a webhook receiver, or COUNT mails over one SMTP session, from Python's standard library.
Prints the seconds taken."""
import base64
import hashlib
import hmac
import json
import smtplib
import sys
import time
from email.message import EmailMessage
from http.client import HTTPConnection

kind, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
started = time.time()
if kind == "webhook":
    secret = base64.b64decode(sys.argv[4].removeprefix("whsec_"))
    connection = HTTPConnection("127.0.0.1", port)
    for n in range(count):
        body = json.dumps({"version": "reference", "alerts": [{"outboxId": n}]}).encode()
        webhook_id, timestamp = f"ref_{n}", str(int(time.time()))
        signature = base64.b64encode(hmac.new(secret, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
        connection.request("POST", "/reference", body, {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
                                                         "webhook-signature": f"v1,{signature}", "content-type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
else:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "ref@example.com", "ops@example.com", f"reference {n}"
            message["Message-ID"] = f"<ref.{n}@example.com>"
            message.set_content("reference")
            message.add_alternative("<p>reference</p>", subtype="html")
            smtp.send_message(message)
print(f"{time.time() - started:.2f}")
