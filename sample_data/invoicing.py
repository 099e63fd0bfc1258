"""The sample shop's invoicing endpoint: a stand-in for a real invoicing system.

    python sample_data/invoicing.py [--port 8808] [--secret-file PATH]

Listens on 127.0.0.1, accepts the opstui outbox's POSTs at /invoices, checks the
``X-Opstui-Signature`` when given a secret, drops repeats by delivery id (the outbox sends
at least once), and prints one line per invoice raised.  Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

SEEN: set[str] = set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8808, help="0 picks a free port")
    ap.add_argument("--secret-file", help="verify signatures with the secret in this file")
    args = ap.parse_args()
    secret = Path(args.secret_file).read_text().strip().encode() if args.secret_file else None

    class Invoices(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/invoices":
                return self._answer(404, "no such endpoint")
            if secret is not None:
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers.get("X-Opstui-Signature", "")):
                    return self._answer(401, "bad signature")
            delivery = self.headers.get("X-Opstui-Delivery", "")
            if delivery in SEEN:
                return self._answer(200, "already invoiced")
            event = json.loads(body)
            item = event["item"]
            print(
                f"invoice raised for {item['key']} {item['title']!r} "
                f"(delivered by {event['actor']['person'] or event['actor']['unix_user']} "
                f"at {event['time']}, delivery {delivery})",
                flush=True,
            )
            SEEN.add(delivery)
            self._answer(201, "invoiced")

        def _answer(self, code: int, text: str) -> None:
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", args.port), Invoices)
    print(f"invoicing endpoint on http://127.0.0.1:{server.server_port}/invoices", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
