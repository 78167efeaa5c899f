"""A tiny HTTP server that publishes a client's JWK Set (its ``jwks_uri``), counting the fetches."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JWKSServer:
    """``server.jwks`` is served at ``server.url``; ``delay`` and ``padding`` make it slow or large."""

    def __init__(self, jwks=None):
        self.jwks = jwks or {"keys": []}
        self.fetches = 0
        self.delay = 0.0
        self.padding = 0
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.fetches += 1
                time.sleep(owner.delay)
                body = json.dumps({**owner.jwks, "padding": "x" * owner.padding}).encode()
                self.send_response(owner.status)
                if owner.status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
