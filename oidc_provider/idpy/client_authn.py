"""Client authentication against hashed secrets."""

import base64
import binascii
import time
from urllib.parse import unquote_plus

from idpyoidc.server import client_authn
from idpyoidc.server.exception import ClientAuthenticationError

from oidc_provider.models import Client


def basic_credentials(authorization: str) -> tuple[str, str]:
    """Defect 24: RFC 6749 §2.3.1 form-urlencodes id and secret before Basic encoding."""
    if not authorization.startswith("Basic "):
        raise ClientAuthenticationError("Wrong type of authorization token")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise ClientAuthenticationError("Malformed Basic credentials") from err
    if ":" not in decoded:
        raise ClientAuthenticationError("Malformed Basic credentials")
    client_id, secret = decoded.split(":", 1)
    return unquote_plus(client_id), unquote_plus(secret)


def _check(client_id, secret):
    """Defect 18: stock compares plain secrets with ``==``; ours are hashed, compared in constant time.
    A secret with a ``client_secret_expires_at`` in the past no longer works (RFC 7591 §3.2.1)."""
    client = (
        Client.objects.filter(client_id=client_id, is_active=True).only("client_secret_hash", "client_secret_expires_at").first()
    )
    if client is None or not client.check_secret(secret):
        raise ClientAuthenticationError("Invalid client credentials")
    if client.client_secret_expires_at and client.client_secret_expires_at < time.time():
        raise ClientAuthenticationError("Expired client secret")
    return {"client_id": client_id}


class ClientSecretBasic(client_authn.ClientSecretBasic):
    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        return _check(*basic_credentials(authorization_token))


class ClientSecretPost(client_authn.ClientSecretPost):
    def _verify(self, request=None, authorization_token=None, endpoint=None, **kwargs):
        return _check(request["client_id"], request["client_secret"])


METHODS = {"client_secret_basic": ClientSecretBasic, "client_secret_post": ClientSecretPost}
