"""The drills' webhook receiver, in its own process: it records every arrival and answers as its
path says. Run: python receiver.py PORT.

- `/ok/…`: 204.
- `/flaky/…`: 500 the first time a webhook-id arrives, then 200.
- `/hang/…`: the first time, hangs for HANG_SECONDS (past the sender's timeout), then 200.
- `/throttle/…`: the first time, 429 with `Retry-After: RETRY_AFTER`, then 200.
- `/gone/…`: 410, always.

GET /stats returns {path: {webhook-id: [[unix time, status answered], …]}}.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.perf.receiver import serve

HANG_SECONDS = 4.0
RETRY_AFTER = 3

ARRIVALS: dict[str, dict[str, list[list[float]]]] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        webhook_id = self.headers.get("webhook-id", "")
        kind = self.path.strip("/").split("/")[0]
        with LOCK:
            seen = ARRIVALS.setdefault(self.path, {}).setdefault(webhook_id, [])
            first = not seen
            arrival = [time.time(), 0]
            seen.append(arrival)
        status, headers = 204, {}
        if kind == "flaky" and first:
            status = 500
        elif kind == "hang" and first:
            time.sleep(HANG_SECONDS)
            status = 200
        elif kind == "throttle" and first:
            status, headers = 429, {"Retry-After": str(RETRY_AFTER)}
        elif kind == "gone":
            status = 410
        elif kind in ("flaky", "hang", "throttle"):
            status = 200
        # A hang's answer comes after the sender gave up: no answer, as far as it knows.
        arrival[1] = 0 if kind == "hang" and first else status
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the sender gave up waiting (the hang): its attempt recorded a timeout

    def do_GET(self) -> None:
        with LOCK:
            body = json.dumps(ARRIVALS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    serve(Handler, int(sys.argv[1]))
