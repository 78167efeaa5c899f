"""A tiny HTTP server on 127.0.0.1 that publishes a client's JWK Set (its ``jwks_uri``), counting
the requests, and that can misbehave as a hostile one would."""

import datetime
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JWKSServer:
    """``server.jwks`` (or ``server.document``) is served at ``server.url`` (any path; POSTs are answered
    the same way).

    ``delay`` and ``padding`` make it slow or large; ``status`` and ``location`` make it refuse or
    redirect; ``drip`` (seconds per byte, for ``drip_for`` seconds) sends the headers (``drip_headers``)
    or the body one byte at a time; ``offer`` streams that many bytes of body, chunked, counting in
    ``sent`` what it could write. ``requests`` lists (method, path, headers) of every request."""

    def __init__(self, jwks=None, tls=None):
        self.jwks = jwks or {"keys": []}
        self.document = None  # any JSON value served instead of the JWK Set (a sector identifier document)
        self.body = None  # bytes served as they are instead (a request object), as ``content_type``
        self.content_type = "application/json"
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
                document = (
                    owner.document if owner.document is not None else {**owner.jwks, "padding": "x" * owner.padding}
                )
                body = owner.body if owner.body is not None else json.dumps(document).encode()
                self.send_response(owner.status)
                if 300 <= owner.status < 400:
                    self.send_header("Location", owner.location)
                self.send_header("Content-Type", owner.content_type)
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
        if tls:  # (certificate file, key file): https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.url = self.url.replace("http://", "https://")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def tls_certificates(directory, name):
    """A test CA and a certificate for the host ``name`` it signed: (CA file, certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tests CA")])

    def certificate(subject, public_key, *extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(ca_key, hashes.SHA256())

    usage = dict(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca = certificate(
        ca_name,
        ca_key.public_key(),
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage), True),
    )
    leaf = certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
        key.public_key(),
        (x509.SubjectAlternativeName([x509.DNSName(name)]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    )
    files = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tuple(str(f) for f in files)
