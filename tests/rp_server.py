"""A relying party's logout endpoints for the tests: a real HTTP server on 127.0.0.1, in the test
process, that records what the OP (or a browser) sends it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._record({})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._record(parse_qs(self.rfile.read(length).decode()))

    def _record(self, form):
        server = self.server.rp
        parts = urlsplit(self.path)
        status, delay = server.behaviour.get(parts.path, (200, 0))
        time.sleep(delay)
        with server.arrived:
            server.requests.append(
                {
                    "method": self.command,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "form": form,
                    "content_type": self.headers.get("Content-Type", ""),
                    "at": time.monotonic(),
                }
            )
            server.arrived.notify_all()
        self.send_response(status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Location" if 300 <= status < 400 else "X-Status", f"{server.url}/elsewhere")
        self.end_headers()

    def log_message(self, *args):
        pass


class RPServer:
    """``url``; ``respond(path, status, delay)`` sets how a path answers; ``wait_for(path)`` returns
    the first request to it (waiting up to ``timeout`` seconds); ``requests`` lists them all."""

    def __init__(self):
        self.requests = []
        self.behaviour = {}
        self.arrived = threading.Condition()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.rp = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def respond(self, path, status=200, delay=0.0):
        self.behaviour[path] = (status, delay)

    def to(self, path):
        return [r for r in self.requests if r["path"] == path]

    def wait_for(self, path, timeout=10.0):
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.to(path), timeout=timeout):
                raise AssertionError(f"nothing arrived at {path} within {timeout}s; got {self.requests}")
            return self.to(path)[0]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
