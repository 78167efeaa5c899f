"""Clients' public keys, from the client's row (``jwks``) or its ``jwks_uri``, for any worker.

idpyoidc loads a client's keys only into the key jar of the process that registered it (notes
§5.5); here every worker reads them from the row when it needs them. A ``jwks_uri`` is fetched with
a timeout, a size limit and no redirects, and cached for CLIENT_JWKS_CACHE_TTL seconds.
"""

import json
import logging
import threading
import time
from collections import OrderedDict

import requests
from cryptojwt.key_bundle import KeyBundle
from django.conf import settings

from oidc_provider.conf import oidc_settings

logger = logging.getLogger(__name__)

PARSED_CACHE_SIZE = 256  # distinct inline JWKS kept parsed
FAILURE_TTL = 30  # seconds an unreachable jwks_uri is not asked again


class JWKSFetchError(Exception):
    pass


def fetch_jwks(url: str) -> dict:
    """GET ``url`` as a JWKS: https (http only with DEBUG), CLIENT_JWKS_TIMEOUT in total, at most
    CLIENT_JWKS_MAX_BYTES, no redirects."""
    if not (url.startswith("https://") or (settings.DEBUG and url.startswith("http://"))):
        raise JWKSFetchError("jwks_uri must be https")
    limit, timeout = oidc_settings.CLIENT_JWKS_MAX_BYTES, oidc_settings.CLIENT_JWKS_TIMEOUT
    deadline = time.monotonic() + timeout
    try:
        with requests.get(url, timeout=timeout, stream=True, allow_redirects=False,
                          headers={"Accept": "application/jwk-set+json, application/json"}) as response:
            if response.status_code != 200:
                raise JWKSFetchError(f"HTTP {response.status_code}")
            if int(response.headers.get("Content-Length") or 0) > limit:
                raise JWKSFetchError("too large")
            body = b""
            for chunk in response.iter_content(8192):
                body += chunk
                if len(body) > limit:
                    raise JWKSFetchError("too large")
                if time.monotonic() > deadline:
                    raise JWKSFetchError("too slow")
    except requests.RequestException as err:
        raise JWKSFetchError(type(err).__name__) from err
    try:
        jwks = json.loads(body)
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

    def bundle(self, client_info: dict) -> KeyBundle | None:
        """The keys of the client described by ``client_info`` (an idpyoidc client dict), or None."""
        if client_info.get("jwks_uri"):
            return self._from_uri(client_info["jwks_uri"])
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

    def _from_uri(self, url):
        now = time.monotonic()
        with self._lock:
            cached = self._fetched.get(url)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            bundle, ttl = _bundle(fetch_jwks(url)), oidc_settings.CLIENT_JWKS_CACHE_TTL
        except JWKSFetchError as err:
            logger.warning("cannot fetch client jwks_uri %s: %s", url, err)
            bundle, ttl = None, min(FAILURE_TTL, oidc_settings.CLIENT_JWKS_CACHE_TTL)
        with self._lock:
            self._fetched[url] = (now + ttl, bundle)
            if len(self._fetched) > PARSED_CACHE_SIZE:  # drop what has expired
                self._fetched = {u: e for u, e in self._fetched.items() if e[0] > now}
        return bundle
