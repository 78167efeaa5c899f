"""A tiny HTTP server on 127.0.0.1 that publishes a client's JWK Set (its ``jwks_uri``), counting
the requests, and that can misbehave as a hostile one would."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JWKSServer:
    """``server.jwks`` is served at ``server.url`` (any path; POSTs are answered the same way).

    ``delay`` and ``padding`` make it slow or large; ``status`` and ``location`` make it refuse or
    redirect; ``drip`` (seconds per byte, for ``drip_for`` seconds) sends the headers (``drip_headers``)
    or the body one byte at a time; ``offer`` streams that many bytes of body, chunked, counting in
    ``sent`` what it could write. ``requests`` lists (method, path, headers) of every request."""

    def __init__(self, jwks=None):
        self.jwks = jwks or {"keys": []}
        self.fetches = 0
        self.requests = []
        self.delay = 0.0
        self.padding = 0
        self.status = 200
        self.location = "http://127.0.0.1:1/elsewhere"
        self.drip = 0.0
        self.drip_for = 5.0
        self.drip_headers = False
        self.offer = 0
        self.sent = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                owner.fetches += 1
                owner.requests.append((self.command, self.path, dict(self.headers)))
                time.sleep(owner.delay)
                if owner.drip:
                    return self.drip()
                if owner.offer:
                    return self.stream()
                body = json.dumps({**owner.jwks, "padding": "x" * owner.padding}).encode()
                self.send_response(owner.status)
                if 300 <= owner.status < 400:
                    self.send_header("Location", owner.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def drip(self):
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                if not owner.drip_headers:
                    self.wfile.write(head + b"\r\n")
                    head = b""
                data = head + b"\r\n" + b'{"keys": [' + b" " * 10**6
                ends = time.monotonic() + owner.drip_for
                for byte in data:
                    if time.monotonic() > ends:
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(owner.drip)

            def stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                while owner.sent < owner.offer:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    owner.sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the client hung up on a misbehaving answer, as it should

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
