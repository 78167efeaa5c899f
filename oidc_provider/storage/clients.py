"""``Client`` rows as the protocol code reads them: once per unit of work, and by registration access token."""

from oidc_provider import crypto
from oidc_provider.models import Client
from oidc_provider.storage.rows import get_row
from oidc_provider.storage.unit_of_work import active

REGISTRATION_ACCESS_TOKEN = "registration-access-token"


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
    """The active ``Client`` row ``client_id`` (None if there is none), read once per unit of work."""
    unit = active()
    if unit is not None and client_id in unit.client_rows:
        return unit.client_rows[client_id]
    client = get_row(Client, client_id=client_id, is_active=True) if isinstance(client_id, str) else None
    if unit is not None:
        unit.client_rows[client_id] = client
    return client
