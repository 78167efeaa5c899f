"""``Client`` rows as the protocol code reads them: once per unit of work, and by registration access token.

With ``CLIENT_CACHE_TTL`` above 0, a worker also keeps each active client's row for that many seconds
(by the clock of the moment it read it) and reuses it across requests: one statement fewer per
authenticated request. Staleness bound: a change to a client (disabled, deleted, a new secret, new
metadata) reaches every worker at most ``CLIENT_CACHE_TTL`` seconds after it commits, however it was
made (admin, ``QuerySet.update``, SQL); in the process that saved it through the ORM at once. Only rows
that were found and active are kept, so an unknown or disabled client_id is read every time (a client
created or re-enabled is usable at once, and guessed ids fill nothing). 0 (the default): no cache.
"""

import time

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save

from oidc_provider import crypto
from oidc_provider.conf import SETTING_NAME, oidc_settings
from oidc_provider.models import Client
from oidc_provider.storage.rows import get_row
from oidc_provider.storage.unit_of_work import active

REGISTRATION_ACCESS_TOKEN = "registration-access-token"
CACHE_MAX = 1024  # rows kept per process; emptied when full (the clients a worker sees are few)

_cache = {}  # client_id -> (time.monotonic() deadline, Client row)


def hash_registration_access_token(token: str) -> str:
    return crypto.hash_token(token, REGISTRATION_ACCESS_TOKEN)


def client_id_by_registration_access_token(token: str):
    """The active client ``token`` is the registration access token of (None if there is none)."""
    return (
        Client.objects.filter(  # a row written before HKDF holds the second hash
            registration_access_token_hash__in=crypto.token_hashes(token, REGISTRATION_ACCESS_TOKEN), is_active=True
        )
        .values_list("client_id", flat=True)
        .first()
    )


def client_row(client_id):
    """The active ``Client`` row ``client_id`` (None if there is none), read once per unit of work
    (and, with ``CLIENT_CACHE_TTL``, once per that many seconds per process)."""
    unit = active()
    if unit is not None and client_id in unit.client_rows:
        return unit.client_rows[client_id]
    client = _read(client_id) if isinstance(client_id, str) else None
    if unit is not None:
        unit.client_rows[client_id] = client
    return client


def _read(client_id):
    ttl = oidc_settings.CLIENT_CACHE_TTL
    if not ttl:
        return get_row(Client, client_id=client_id, is_active=True)
    now = time.monotonic()
    cached = _cache.get(client_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    # the deadline counts from before the read: a row is never reused longer than ttl after the
    # database said so
    client = get_row(Client, client_id=client_id, is_active=True)
    if client is None:
        _cache.pop(client_id, None)
        return None
    if len(_cache) >= CACHE_MAX:
        _cache.clear()
    _cache[client_id] = (now + ttl, client)
    return client


def forget(client_id=None):
    """Drop ``client_id``'s cached row in this process (every row when None)."""
    if client_id is None:
        _cache.clear()
    else:
        _cache.pop(client_id, None)


def _forget_saved(sender, instance, **kwargs):
    forget(instance.client_id)


def _forget_all(*, setting, **kwargs):
    if setting == SETTING_NAME:
        forget()


post_save.connect(_forget_saved, sender=Client, dispatch_uid="oidc_provider.client_cache.save")
post_delete.connect(_forget_saved, sender=Client, dispatch_uid="oidc_provider.client_cache.delete")
setting_changed.connect(_forget_all, dispatch_uid="oidc_provider.client_cache.settings")
