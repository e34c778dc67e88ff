"""A fast webhook receiver for benchmarks, in its own process: answers 204 at once and records
when each webhook-id arrived. GET /stats returns {id: unix time}. Run: python receiver.py PORT."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED: dict[str, float] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        now = time.time()
        with LOCK:
            RECEIVED.setdefault(self.headers.get("webhook-id", ""), now)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with LOCK:
            body = json.dumps(RECEIVED).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self) -> None:
        with LOCK:
            RECEIVED.clear()
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler], port: int) -> None:
    # A listen backlog of 5 (http.server's default) drops the SYNs of a burst of new connections,
    # and each dropped one costs the sender a 1 s retransmit: a real receiver queues them.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    serve(Handler, int(sys.argv[1]))
