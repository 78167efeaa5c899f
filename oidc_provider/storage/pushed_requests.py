"""Pushed authorization requests (RFC 9126) as ``PushedRequest`` rows, shared by every worker: the
push may land on one process and the browser's redirect on another (defects 150, 151, 152, 153).

A ``request_uri`` is ``urn:ietf:params:oauth:request_uri:`` and 256 random bits (RFC 9126 §2.2, §7.1:
it must not be guessable); its row holds a keyed hash of the random part, never the value. It is
used once: redeeming it is one conditional ``UPDATE``, so of two workers racing on it one wins.
"""

import datetime as dt
import secrets

from django.utils import timezone

from oidc_provider.crypto import hash_token
from oidc_provider.models import PushedRequest
from oidc_provider.protocol import PAR_REQUEST_URI_PREFIX

PURPOSE = "par-request-uri"
RANDOM_BYTES = 32
# A presented request_uri longer than this is no request_uri of ours: not hashed, not looked up.
MAX_REQUEST_URI = len(PAR_REQUEST_URI_PREFIX) + 64


class Unredeemable(Exception):
    """Why a presented request_uri gives no request: ``reason`` is ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _digest(request_uri: str) -> str | None:
    if not isinstance(request_uri, str) or not request_uri.startswith(PAR_REQUEST_URI_PREFIX):
        return None
    if len(request_uri) > MAX_REQUEST_URI:
        return None
    return hash_token(request_uri[len(PAR_REQUEST_URI_PREFIX) :], PURPOSE)


def store(client_id: str, parameters: dict, lifetime: int) -> str:
    """Keep a pushed request of ``client_id`` for ``lifetime`` seconds; returns its request_uri."""
    random_part = secrets.token_urlsafe(RANDOM_BYTES)
    PushedRequest.objects.create(
        digest=hash_token(random_part, PURPOSE),
        client_id=client_id,
        parameters=parameters,
        expires_at=timezone.now() + dt.timedelta(seconds=lifetime),
    )
    return PAR_REQUEST_URI_PREFIX + random_part


def redeem(request_uri: str, client_id: str) -> dict:
    """The parameters pushed as ``request_uri`` by ``client_id``, marked used in the same statement
    (RFC 9126 §4: one-time use). Raises ``Unredeemable``: unknown, another client's (said as unknown:
    nothing tells a client that another's exists), already used, or expired."""
    digest = _digest(request_uri)
    if digest is None:
        raise Unredeemable("unknown")
    now = timezone.now()
    won = PushedRequest.objects.filter(digest=digest, client_id=client_id, consumed=False, expires_at__gt=now).update(
        consumed=True
    )
    row = PushedRequest.objects.filter(digest=digest, client_id=client_id).first()
    if row is None:
        raise Unredeemable("unknown")
    if not won:
        if row.consumed and row.expires_at > now:
            raise Unredeemable("used")
        raise Unredeemable("expired")
    return row.parameters
