"""Clients' public keys, from the client's row (``jwks``) or its ``jwks_uri``, for any worker.

idpyoidc loads a client's keys only into the key jar of the process that registered it; here every
worker reads them from the row when it needs them. A ``jwks_uri`` is fetched when
a key is needed (never at registration), through ``oidc_provider.outbound``, and cached for
CLIENT_JWKS_CACHE_TTL seconds; a kid the cached keys lack fetches it again (key rotation), at most
once per CLIENT_JWKS_REFETCH_INTERVAL seconds. A failed fetch is remembered for FAILURE_TTL
seconds, unless it failed because the OP was busy (``JWKSBusy``), which says nothing about the client.
"""

import json
import logging
import threading
import time
from collections import OrderedDict

from cryptojwt.key_bundle import KeyBundle

from oidc_provider import outbound
from oidc_provider.conf import oidc_settings

logger = logging.getLogger(__name__)

PARSED_CACHE_SIZE = 256  # distinct inline JWKS kept parsed
FAILURE_TTL = 30  # seconds an unreachable jwks_uri is not asked again


class JWKSFetchError(Exception):
    pass


class JWKSBusy(JWKSFetchError):
    """Not fetched because the OP was busy (``outbound.OutboundBusy``): not the client's failure."""


def fetch_jwks(url: str) -> dict:
    """GET ``url`` as a JWKS through ``outbound``: CLIENT_JWKS_TIMEOUT in total, at most
    CLIENT_JWKS_MAX_BYTES."""
    try:
        response = outbound.get(
            url,
            timeout=oidc_settings.CLIENT_JWKS_TIMEOUT,
            max_bytes=oidc_settings.CLIENT_JWKS_MAX_BYTES,
            accept="application/jwk-set+json, application/json",
        )
    except outbound.OutboundBusy as err:
        raise JWKSBusy(str(err)) from err
    except outbound.OutboundError as err:
        raise JWKSFetchError(str(err)) from err
    try:
        jwks = json.loads(response.body)
    except ValueError as err:
        raise JWKSFetchError("not JSON") from err
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JWKSFetchError("not a JWK Set")
    return jwks


def _bundle(jwks) -> KeyBundle | None:
    keys = [k for k in jwks["keys"] if isinstance(k, dict)]
    if not keys:
        return None
    try:
        return KeyBundle(keys=keys)  # invalid keys are skipped
    except Exception as err:  # cryptojwt raises many types for a malformed key
        logger.info("unusable client JWKS: %s", type(err).__name__)
        return None


class ClientKeys:
    """Per-process cache of parsed client key sets; the client row stays the source of truth."""

    def __init__(self):
        self._lock = threading.Lock()
        self._parsed = OrderedDict()  # canonical inline JWKS -> KeyBundle (LRU)
        self._fetched = {}  # jwks_uri -> (monotonic expiry, KeyBundle or None)
        self._refetched = {}  # jwks_uri -> monotonic time of its last refetch for an unknown kid

    def bundle(self, client_info: dict, kid: str = "", lacks=None) -> KeyBundle | None:
        """The keys of the client described by ``client_info`` (an idpyoidc client dict), or None.
        With a ``kid`` that keys from a ``jwks_uri`` lack, or when ``lacks(keys)`` says they lack the
        key wanted (an encryption key, ``idpy/encryption.py``), they are fetched again if the last
        such refetch is CLIENT_JWKS_REFETCH_INTERVAL seconds old."""
        if client_info.get("jwks_uri"):
            return self._from_uri(client_info["jwks_uri"], kid, lacks)
        jwks = client_info.get("jwks")
        if isinstance(jwks, dict) and isinstance(jwks.get("keys"), list):
            return self._from_row(jwks)
        return None

    def _from_row(self, jwks):
        canonical = json.dumps(jwks, sort_keys=True)
        with self._lock:
            bundle = self._parsed.get(canonical)
            if bundle is not None:
                self._parsed.move_to_end(canonical)
                return bundle
        bundle = _bundle(jwks)
        if bundle is not None:
            with self._lock:
                self._parsed[canonical] = bundle
                while len(self._parsed) > PARSED_CACHE_SIZE:
                    self._parsed.popitem(last=False)
        return bundle

    def _from_uri(self, url, kid="", lacks=None):
        now = time.monotonic()
        with self._lock:
            expiry, cached = self._fetched.get(url, (0, None))
            missing = (kid and not (cached and cached.get_key_with_kid(kid))) or (lacks and cached and lacks(cached))
            refetch = missing and expiry > now
            if refetch:  # claimed under the lock: a flood of unknown kids makes one fetch per interval
                refetch = self._refetched.get(url, -1e9) + oidc_settings.CLIENT_JWKS_REFETCH_INTERVAL <= now
                if refetch:
                    self._refetched[url] = now
        if expiry > now and not refetch:
            return cached
        try:
            bundle, ttl = _bundle(fetch_jwks(url)), oidc_settings.CLIENT_JWKS_CACHE_TTL
        except JWKSFetchError as err:
            logger.warning("cannot fetch client jwks_uri %s: %s", outbound.loggable(url), err)
            if isinstance(err, JWKSBusy):  # nothing learnt about the client: the next request tries again
                with self._lock:
                    if refetch and self._refetched.get(url) == now:
                        del self._refetched[url]
                return cached if refetch else None
            if refetch:
                return cached  # the cached keys stay
            bundle, ttl = None, min(FAILURE_TTL, oidc_settings.CLIENT_JWKS_CACHE_TTL)
        with self._lock:
            self._fetched[url] = (now + ttl, bundle)
            if len(self._fetched) > PARSED_CACHE_SIZE:  # drop what has expired
                self._fetched = {u: e for u, e in self._fetched.items() if e[0] > now}
                self._refetched = {u: t for u, t in self._refetched.items() if u in self._fetched}
        return bundle
