"""Rate limits kept in Django's cache framework (RATE_LIMIT_CACHE): with a shared cache (Redis,
Memcached, the database cache) every worker on every host counts against the same windows.

Fixed windows: ``(count, seconds)`` allows ``count`` events per ``seconds``; ``None`` turns a limit off.
"""

import base64
import hashlib
import json
import logging
import math
import time
from urllib.parse import unquote_plus

from django.core.cache import caches

from oidc_provider.conf import oidc_settings

PREFIX = "oidc_provider:rl"
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


def retry_after(*checks):
    """Seconds until ``subject`` may try again under ``limit``, for every ``(scope, subject, limit)``
    of ``checks`` (the longest wait; 0 if all are within their limits), read in one cache round trip."""
    now = time.time()
    windows = {}
    for scope, subject, limit in checks:
        if limit and subject is not None:
            count, seconds = limit
            index, remaining = _window(seconds, now)
            windows[_key(scope, subject, index)] = (count, remaining)
    if not windows:
        return 0
    try:
        used = _cache().get_many(list(windows))
    except Exception as err:  # an unreachable cache must not take the OP down: fail open, loudly
        logger.error("rate-limit cache unavailable: %s", type(err).__name__)
        return 0
    return max((remaining for key, (count, remaining) in windows.items() if used.get(key, 0) >= count), default=0)


def hit(scope, subject, limit):
    """Count one event of ``subject`` against ``limit``."""
    if not limit or subject is None:
        return
    count, seconds = limit
    index, _ = _window(seconds)
    key = _key(scope, subject, index)
    try:
        cache = _cache()
        try:
            cache.incr(key)
        except ValueError:  # the window's first event (or its key expired): start the count
            if not cache.add(key, 1, timeout=seconds + 1):
                cache.incr(key)  # another worker started it first
    except Exception as err:
        logger.error("rate-limit cache unavailable: %s", type(err).__name__)


def claimed_client_id(request, params):
    """The client_id a request claims (HTTP Basic, RFC 6749 §2.3.1, or the ``client_id``
    parameter), unverified: what failures and requests are counted against."""
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
    except (IndexError, ValueError, TypeError, KeyError, AttributeError):
        return None
