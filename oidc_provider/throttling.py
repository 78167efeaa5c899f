"""Rate limits kept in Django's cache framework (RATE_LIMIT_CACHE): with a shared cache (Redis,
Memcached, the database cache) every worker on every host counts against the same windows.

Fixed windows: ``(count, seconds)`` allows ``count`` events per ``seconds``; ``None`` turns a limit off.
An event is counted before it is judged (the cache's ``incr``, atomic on Redis and Memcached), so
workers racing each other never let more than ``count`` through.
"""

import base64
import hashlib
import ipaddress
import json
import logging
import math
import time
from functools import lru_cache
from urllib.parse import unquote_plus

from django.core.cache import caches

from oidc_provider.conf import oidc_settings

PREFIX = "oidc_provider:rl"
# An IPv6 host is usually given a whole /64: its addresses are one client address.
IPV6_PREFIX = 64
logger = logging.getLogger(__name__)


def _cache():
    return caches[oidc_settings.RATE_LIMIT_CACHE]


def _key(scope, subject, window):
    digest = hashlib.sha256(str(subject).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}:{scope}:{digest}:{window}"


def _window(seconds, now=None):
    now = time.time() if now is None else now
    index = int(now // seconds)
    return index, max(1, math.ceil((index + 1) * seconds - now))


def _incr(key, seconds):
    """The key's count after adding one; 0 if the cache cannot be reached."""
    try:
        cache = _cache()
        try:
            return cache.incr(key)
        except ValueError:  # the window's first event (or its key expired): start the count
            # kept for two windows: hosts whose clocks differ by less than a window still share it
            if cache.add(key, 1, timeout=2 * seconds):
                return 1
            return cache.incr(key)  # another worker started it first
    except Exception as err:  # an unreachable cache must not take the OP down: fail open, loudly
        logger.error("rate-limit cache unavailable: %s", type(err).__name__)
        return 0


def spend(*checks):
    """Count one event against each ``(scope, subject, limit)`` of ``checks``; the seconds until the
    longest of the windows whose limit is now exceeded ends (0: every count is within its limit).
    A ``None`` subject or limit is skipped."""
    now = time.time()
    wait = 0
    for scope, subject, limit in checks:
        if not limit or subject is None:
            continue
        count, seconds = limit
        index, remaining = _window(seconds, now)
        if _incr(_key(scope, subject, index), seconds) > count:
            wait = max(wait, remaining)
    return wait


def pair(client_id, address):
    """One subject for a client at one address (None when either is unknown)."""
    return None if client_id is None or address is None else f"{client_id}\0{address}"


# A peer that is no IP address: a proxy on a unix socket (gunicorn then sets REMOTE_ADDR to "").
# As a TRUSTED_PROXIES entry it trusts such a peer; untrusted, all such requests share one address.
UNIX_PEER = "unix"


@lru_cache(maxsize=16)
def _networks(proxies):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies if proxy != UNIX_PEER)


def _ip(value):
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def client_address(request):
    """The address a request came from, as the rate limits count it: ``REMOTE_ADDR``, unless that is
    one of TRUSTED_PROXIES; then the right-most ``X-Forwarded-For`` entry that is not a trusted
    proxy (the entries left of it were written by the client, which may write anything). A malformed
    entry ends the walk at the last trusted hop. A peer that is no IP address is ``unix``: trusted
    only if TRUSTED_PROXIES names it, and otherwise one address for all of its requests, never none
    (a limit without an address would not count at all). IPv6 addresses count by their /64."""
    address = _ip(request.META.get("REMOTE_ADDR") or "")
    proxies = tuple(oidc_settings.TRUSTED_PROXIES)
    networks = _networks(proxies)
    trusted = (UNIX_PEER in proxies) if address is None else any(address in network for network in networks)
    if trusted:
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            forwarded = _ip(hop)
            if forwarded is None:
                break
            address = forwarded
            if not any(address in network for network in networks):
                break
    if address is None:
        return UNIX_PEER
    if address.version == 6:
        return str(ipaddress.IPv6Network((int(address), IPV6_PREFIX), strict=False))
    return str(address)


def claimed_client_id(request, params):
    """The client_id a request claims (HTTP Basic, RFC 6749 §2.3.1, or the ``client_id``
    parameter), unverified: what failed authentications are counted against."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            user = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").split(":", 1)[0]
            return unquote_plus(user)
        except (ValueError, UnicodeDecodeError):
            return None
    if params.get("client_id"):
        return params["client_id"]
    try:  # RFC 7523 §3: a client assertion's iss is the client_id
        payload = params.get("client_assertion", "").split(".")[1]
        issuer = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iss"]
        return issuer if isinstance(issuer, str) else None
    except (IndexError, ValueError, TypeError, KeyError, AttributeError, RecursionError):  # hostile JSON nests deep
        return None
