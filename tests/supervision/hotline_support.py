"""A stand-in for the 12345 platform's receiving end: a local HTTP server that records what it is sent, and can be
told to be down (answer 503) for a while."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.received: list[dict] = []  # every POST that reached it, with what it answered
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status = 503 if receiver.down else 200
                receiver.received.append({"status": status, "event_id": self.headers.get("X-Event-Id"), "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/12345/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict]:
        """What the receiver accepted (2xx), each a body."""
        return [r["body"] for r in self.received if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
