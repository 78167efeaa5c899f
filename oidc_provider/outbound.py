"""The OP's one way out to the network: every request to a URL that a client registered (its
``jwks_uri``, its ``backchannel_logout_uri``) goes through ``get`` or ``post_form``.

Such a URL is hostile: it may point at the OP's own network (SSRF), answer slowly or endlessly, or
redirect elsewhere. So a request here is https only (http too with DEBUG); its host is resolved
once and every address must be public (or the host named in OUTBOUND_ALLOWED_HOSTS), and the
connection goes to the address that was checked, the TLS certificate still verified for the host
name; name lookups, which cannot be cancelled, are one per host name and RESOLVER_THREADS in all (a
request that finds no slot fails at once with ``OutboundBusy``); redirects are never followed; one
deadline covers resolution, connection, TLS, headers and body (a watchdog cuts the socket when it
passes, so a server dripping bytes cannot stretch it); the body is read up to a size cap; and
nothing is sent while the caller holds a database transaction.
Errors are ``OutboundError`` whose text names the host, never a path, query or credential.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

import certifi
from django.conf import settings
from django.db import connections

from oidc_provider.conf import oidc_settings

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: IPv4 addresses embedded in IPv6
# Never a client's server, whatever ``is_global`` says (its tables differ between Python versions:
# 3.11 calls 192.0.0.192 and 3fff::1 global): the IANA IPv4 and IPv6 Special-Purpose Address
# Registries (RFC 6890 and later), multicast, and the deprecated site-local fec0::/10 (RFC 3879).
# NAT64's 64:ff9b::/96 is not here (the registry calls it global): the IPv4 address it embeds is checked.
NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "100:0:0:1::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "2620:4f:8000::/48",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
# Name lookups have no timeout of their own and cannot be cancelled: at most this many are in flight
# (one per host name), and a lookup that finds them all taken fails at once with ``OutboundBusy``.
RESOLVER_THREADS = 32
_resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="oidc-outbound-resolve")
_lookups = {}  # lower-cased host name -> the Future of its lookup in flight
_lookups_lock = threading.Lock()


class OutboundError(Exception):
    """The request failed; the text says why (safe to log and to record). ``public``: what the party
    that named the URL may be told, the same text except where it would map this server's view of
    names and addresses (an internal name's address, whether a name exists here)."""

    def __init__(self, reason: str, public: str | None = None):
        super().__init__(reason)
        self.public = public or reason


# Told instead of a lookup's outcome: one answer whether the name is unknown, slow or private here, so that a
# client naming URLs (registration is open to anyone) learns nothing of the internal network.
UNREACHABLE = "%s: not a public host reachable from this server"


class OutboundRefused(OutboundError):
    """The request was not sent and never will be as it stands: trying again will not help."""


class OutboundBusy(OutboundError):
    """Not sent: every name-lookup slot is taken (by lookups that hang, perhaps an attacker's). It says
    nothing about the host, so it is not to be remembered as the host's failure."""


class Response(NamedTuple):
    status: int
    content_type: str
    body: bytes


def get(url: str, *, timeout: float, max_bytes: int, accept: str) -> Response:
    """GET ``url``; anything but a 200 with a body of at most ``max_bytes`` is an ``OutboundError``."""
    response = _request("GET", url, None, {"Accept": accept}, timeout, max_bytes)
    if response.status != 200:
        redirect = " (redirects are not followed)" if 300 <= response.status < 400 else ""
        raise OutboundError(f"HTTP {response.status}{redirect}")
    return response


def post_form(url: str, data: dict, *, timeout: float) -> int:
    """POST ``data`` form-encoded to ``url``; the response's status (its body is not read)."""
    body = urlencode(data).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return _request("POST", url, body, headers, timeout, 0).status


def refuse(method, url, **kwargs):
    """idpyoidc's own HTTP client (``context.httpc``): idpyoidc never fetches by itself (a
    ``request_uri``, a ``sector_identifier_uri``, a back-channel logout); what the OP fetches goes
    through ``get`` and ``post_form``."""
    raise OutboundRefused(f"{loggable(url)}: idpyoidc does not send requests of its own")


def loggable(url: str) -> str:
    """``url`` as it may be logged: without user information, query or fragment."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    except (TypeError, ValueError):
        return "(not a valid URL)"


def public(address) -> bool:
    """Whether ``address`` (an ``ipaddress`` object) is one the Internet routes to a host: not
    loopback, private, link-local (169.254.169.254 is cloud metadata), shared (CGNAT), multicast,
    reserved, unspecified or otherwise special-purpose (``NOT_PUBLIC``), on every Python; IPv4-mapped
    and 6to4 IPv6 are refused, and NAT64 IPv6 is judged by the IPv4 address it embeds."""
    if address.version == 6 and address in NAT64:
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return (
        address.is_global
        and not (address.is_multicast or address.is_reserved)
        and not any(address in network for network in NOT_PUBLIC)
    )


def in_transaction() -> bool:
    """Whether this thread holds a database transaction (a test case's own is not one)."""
    return any(
        not getattr(block, "_from_testcase", False)  # as Django's durable check ignores it
        for connection in connections.all(initialized_only=True)
        for block in connection.atomic_blocks
    )


def _request(method, url, body, headers, timeout, max_bytes) -> Response:
    deadline = time.monotonic() + timeout
    if in_transaction():
        raise OutboundRefused("not sent inside a database transaction")
    scheme, host, port, target = _parse(url)
    late = OutboundError(f"{host}: no complete answer within {timeout} s")
    failure = None
    for address in _addresses(host, port, deadline):
        connection = _connection(scheme, host, port, address, deadline)
        try:
            with _Watchdog(connection, deadline):
                try:
                    connection.connect()
                except ssl.SSLCertVerificationError as err:
                    raise OutboundRefused(f"{host}: TLS certificate not accepted ({err.verify_message})") from err
                except OSError as err:
                    if connection.expired or isinstance(err, TimeoutError):  # the socket's timeout is what remains
                        raise late from err
                    failure = err
                    continue  # the next address, if there is one
                try:
                    connection.request(method, target, body=body, headers=headers)
                    response = connection.getresponse()
                    if max_bytes and (response.length or 0) > max_bytes:
                        raise OutboundError(f"{host}: response larger than {max_bytes} bytes")
                    content = response.read(max_bytes + 1) if max_bytes else b""
                except (OSError, ValueError, http.client.HTTPException) as err:  # ValueError: http.client's InvalidURL
                    if connection.expired or isinstance(err, TimeoutError):
                        raise late from err
                    raise OutboundError(f"{host}: {type(err).__name__}") from err
                if connection.expired:
                    raise late
        finally:
            connection.close()
        if len(content) > max_bytes:
            raise OutboundError(f"{host}: response larger than {max_bytes} bytes")
        return Response(response.status, response.getheader("Content-Type", ""), content)
    raise OutboundError(f"{host}: cannot connect ({type(failure).__name__})")


def _parse(url):
    try:
        parts = urlsplit(url)
        port = parts.port
        (parts.hostname or "").encode("idna")  # what TLS (SNI) and the Host header will need
    except (TypeError, ValueError) as err:  # UnicodeError is a ValueError
        raise OutboundRefused("not a valid URL") from err
    allowed = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed:
        raise OutboundRefused("only https URLs are fetched" + (" (and http with DEBUG)" if settings.DEBUG else ""))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("a URL with user information is not fetched")
    if not parts.hostname:
        raise OutboundRefused("the URL has no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def _addresses(host, port, deadline) -> list[str]:
    """The addresses of ``host``, resolved once, each checked; these are what is connected to."""
    allowed = _allowed(host)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        lookup = _lookup(host, port)
        try:
            found = [
                ipaddress.ip_address(info[4][0].split("%")[0]) for info in lookup.result(deadline - time.monotonic())
            ]
        except FutureTimeout as err:
            raise OutboundError(f"{host}: name lookup took too long", UNREACHABLE % host) from err
        except (OSError, UnicodeError, ValueError) as err:
            raise OutboundError(f"{host}: name not resolved", UNREACHABLE % host) from err
    found = list(dict.fromkeys(found))
    if not allowed:
        for address in found:
            if not public(address):
                named = "" if literal is not None else f"{host} resolves to "
                raise OutboundRefused(f"{named}{address}, which is not a public address", UNREACHABLE % host)
    if not found:
        raise OutboundError(f"{host}: name not resolved", UNREACHABLE % host)
    return [str(address) for address in found]


def _lookup(host, port):
    """The lookup of ``host`` in flight, or a new one if a slot is free (else ``OutboundBusy``): a
    host's requests share one lookup, so hosts that answer slowly take a slot each, however often
    they are asked for."""
    key = host.lower()
    with _lookups_lock:
        lookup = _lookups.get(key)
        if lookup is None:
            if len(_lookups) >= RESOLVER_THREADS:
                raise OutboundBusy(f"{host}: not looked up, every name lookup slot is taken")
            lookup = _lookups[key] = _resolver.submit(_resolve, key, host, port)
    return lookup


def _resolve(key, host, port):
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    finally:
        with _lookups_lock:  # taken by _lookup until the Future is in _lookups
            del _lookups[key]


def _allowed(host) -> bool:
    """Whether OUTBOUND_ALLOWED_HOSTS names ``host`` (a name, or an IP address however written)."""
    for entry in oidc_settings.OUTBOUND_ALLOWED_HOSTS:
        entry = entry.strip("[]").lower()
        try:
            if ipaddress.ip_address(entry) == ipaddress.ip_address(host):
                return True
        except ValueError:
            if entry == host.lower():
                return True
    return False


def _connection(scheme, host, port, address, deadline):
    timeout = max(deadline - time.monotonic(), 0.001)
    if scheme == "https":
        context = ssl.create_default_context(cafile=oidc_settings.OUTBOUND_CA_FILE or certifi.where())
        return _PinnedHTTPSConnection(host, port, address=address, timeout=timeout, context=context)
    return _PinnedHTTPConnection(host, port, address=address, timeout=timeout)


class _Pinned:
    """Connects to ``address``, the one that was checked, with no second lookup of the host (DNS
    rebinding). Host header, SNI and certificate check still use the host name."""

    expired = False  # set by _Watchdog
    target = None  # the socket _Watchdog cuts: the connection lets go of it when the answer ends it

    def __init__(self, host, port, *, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address
        self._create_connection = self._connect  # what HTTPConnection.connect calls

    def _connect(self, host_port, timeout, source_address):
        sock = socket.socket(socket.AF_INET6 if ":" in self._address else socket.AF_INET, socket.SOCK_STREAM)
        self.target = sock
        try:
            sock.settimeout(timeout)
            sock.connect((self._address, self.port))
        except OSError:
            sock.close()
            raise
        return sock


class _PinnedHTTPConnection(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, http.client.HTTPSConnection):
    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self.target = self._context.wrap_socket(
            self.sock, server_hostname=self.host, do_handshake_on_connect=False
        )
        if self.expired:  # the watchdog fired while the socket was being wrapped: it cut nothing
            raise TimeoutError("deadline")
        self.sock.do_handshake()  # in reach of the watchdog, unlike a handshake inside wrap_socket


class _Watchdog:
    """Shuts the connection's socket down when the deadline passes, wherever the request is (TLS
    handshake, headers or body): a read blocked on it returns at once. Socket timeouts alone bound
    each read, not their sum."""

    def __init__(self, connection, deadline):
        self.connection = connection
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._expire)
        self._timer.daemon = True

    def _expire(self):
        self.connection.expired = True
        sock = self.connection.target
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        self._timer.start()

    def __exit__(self, *exc):
        self._timer.cancel()
