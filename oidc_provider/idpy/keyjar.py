"""The key jar idpyoidc signs and verifies with, kept in step with the ``SigningKey`` rows.

One ``ProviderKeyJar`` per process is shared by every idpyoidc object (server, context, token
handlers). Its OP keys are reloaded *in place* when the rows change: at most every
KEYS_REFRESH_INTERVAL seconds a worker reads the cheap key-set version (kid and state of each row),
and only when that differs does it decrypt and rebuild. Readers see either the old or the new key
set, never a mix: the owners dict is replaced in one assignment.

Clients' keys are never kept in the jar: they are read from the client row on demand (idpyoidc
would load them only in the worker that registered the client).
"""

import json
import logging
import threading
import time
from hashlib import sha256

from cryptojwt.jwk.jwk import key_from_jwk_dict
from cryptojwt.key_bundle import KeyBundle
from cryptojwt.key_issuer import KeyIssuer
from cryptojwt.key_jar import KeyJar
from django.db import DatabaseError, transaction

from oidc_provider.conf import oidc_settings
from oidc_provider.crypto import PRIVATE_MEMBERS
from oidc_provider.storage import keys as key_rows
from oidc_provider.storage.client_keys import ClientKeys

logger = logging.getLogger(__name__)


def _bundle(keys: list) -> KeyBundle:
    bundle = KeyBundle()
    bundle.extend(keys)
    return bundle


class Published:
    """The JWKS document as served: body and ETag, computed once per key-set change."""

    def __init__(self, jwks: list):
        self.body = json.dumps({"keys": [key_rows.public_jwk(k) for k in jwks]})
        self.etag = '"' + sha256(self.body.encode()).hexdigest()[:32] + '"'


class ProviderKeyJar(KeyJar):
    """OP keys from rows (refreshed in place), client keys from client rows (on demand)."""

    def __init__(self, issuer: str, refresh_interval: float = None, client_db=None, **kwargs):
        super().__init__(**kwargs)
        self.issuer = issuer
        self.refresh_interval = oidc_settings.KEYS_REFRESH_INTERVAL if refresh_interval is None else refresh_interval
        self.client_db = client_db
        self.client_keys = ClientKeys()
        self.clock = time.monotonic
        self._refresh_lock = threading.Lock()
        self._next_check = 0.0
        self.version = None
        self.published = Published([])
        self._built = {}
        self.reload()

    # --- OP keys ----------------------------------------------------------------------------------

    def reload(self, key_set=None) -> None:
        """Rebuild the OP owners from the rows: current keys privately under "" (signing) and the
        issuer (idpyoidc verifies its own JWTs by ``iss``), next and retired keys publicly under the
        issuer, after the current ones (defect 15)."""
        key_set = key_set or key_rows.load_key_set()
        current_kids = {k["kid"] for k in key_set.signing}
        built = {}
        signing = self._keys(key_set.signing, built)
        others = self._keys([k for k in key_set.published if k["kid"] not in current_kids], built)
        # built aside and swapped in one assignment, so that readers never see a half-built jar
        issuers = {"": KeyIssuer(), self.issuer: KeyIssuer(name=self.issuer)}
        issuers[""].add_kb(_bundle(signing))
        issuers[self.issuer].add_kb(_bundle(signing))
        issuers[self.issuer].add_kb(_bundle(others))
        published = Published(key_set.published)
        self._issuers = issuers
        self.published = published
        self._built = built
        self.version = key_set.version
        self._next_check = self.clock() + self.refresh_interval

    def _keys(self, jwks: list, built: dict) -> list:
        """cryptojwt keys for ``jwks``, reusing those of the previous key set: building an RSA
        private key checks it, which costs tens of milliseconds, and a kid's key never changes."""
        keys = []
        for jwk in jwks:
            cache_key = (jwk["kid"], bool(PRIVATE_MEMBERS & set(jwk)))
            built[cache_key] = self._built.get(cache_key) or key_from_jwk_dict(jwk)
            keys.append(built[cache_key])
        return keys

    def refresh_if_due(self, force=False) -> bool:
        """Reload if KEYS_REFRESH_INTERVAL has passed (or ``force``) and the rows changed. Returns
        whether it reloaded.

        Costs one monotonic clock read per call; one small query per interval per process. A thread
        that finds another one refreshing goes on with the keys it has.
        """
        if (self.clock() < self._next_check and not force) or not self._refresh_lock.acquire(blocking=False):
            return False
        try:
            if self.clock() < self._next_check and not force:
                return False
            self._next_check = self.clock() + self.refresh_interval
            try:
                with transaction.atomic():  # a savepoint inside a request's transaction
                    version = key_rows.key_set_version()
                    if version == self.version:
                        return False
                    key_set = key_rows.load_key_set()
                    if not set(oidc_settings.SIGNING_ALGS) <= key_set.signing_algs:
                        key_rows.ensure_signing_keys()
                        key_set = key_rows.load_key_set()
                self.reload(key_set)
            except DatabaseError as err:
                logger.warning("signing keys not refreshed (%s); keeping the loaded ones", type(err).__name__)
                return False
            except Exception:  # a row cryptojwt cannot read: keep signing with what works
                logger.exception("signing keys not reloaded; keeping the loaded ones")
                return False
            logger.info("signing keys reloaded: %s", ", ".join(f"{kid}={state}" for kid, state in key_set.version))
            return True
        finally:
            self._refresh_lock.release()

    def get(self, key_use, key_type="", issuer_id="", kid=None, **kwargs):
        """Defect 15: cryptojwt's signer takes the first key of the right type it is handed, public or
        inactive ones included. Keys handed out for signing (``key_use="sig"``) are only those that
        can sign, so a published next or retired key never signs, whatever the order in the jar."""
        keys = super().get(key_use, key_type, issuer_id, kid, **kwargs)
        if key_use == "sig":
            keys = [k for k in keys if k.kty == "oct" or k.has_private_key()]
        return keys

    # --- owners: the OP's from memory, clients' from their rows ------------------------------------

    def _get_issuer(self, issuer_id):
        if issuer_id == "" or issuer_id == self.issuer:
            self.refresh_if_due()
            return self._issuers.get(issuer_id)
        return self._client_issuer(issuer_id)

    def _client_issuer(self, client_id, kid=""):
        """Another worker may have registered the client, so its keys come from its row. A new
        KeyIssuer per call: whatever idpyoidc adds to it is not kept. Loading calls no key-jar
        method, so it cannot re-enter."""
        if self.client_db is None or not isinstance(client_id, str) or not client_id:
            return None
        info = self.client_db.get(client_id)
        bundle = self.client_keys.bundle(info, kid) if info else None
        if bundle is None:
            return None
        issuer = KeyIssuer(name=client_id)
        issuer.add_kb(bundle)
        return issuer

    def get_jwt_verify_keys(self, jwt, **kwargs):
        """A JWT of a client (its ``iss``) whose ``kid`` is not among the keys cached from its
        jwks_uri: the client may have rotated its keys (OIDC Core §10.1.1), so they are fetched
        again (rate-limited, storage/client_keys.py) before the lookup, which then finds the new key
        or none."""
        kid, claims = jwt.headers.get("kid"), jwt.payload()
        iss = claims.get("iss") if isinstance(claims, dict) else None
        if isinstance(kid, str) and kid and isinstance(iss, str) and iss not in ("", self.issuer):
            self._client_issuer(iss, kid)
        return super().get_jwt_verify_keys(jwt, **kwargs)

    def add_url(self, issuer_id, url, **kwargs):
        """Defect 66: idpyoidc's registration (``do_client_registration``) hands a registering
        client's jwks_uri to this method, and cryptojwt's KeyBundle fetches it at once with requests:
        inside the registration's transaction, following redirects, with no size cap and no address
        check (SSRF). Nothing is fetched here: the jwks_uri stays on the client's row and its keys are
        fetched when needed, through ``oidc_provider.outbound`` (storage/client_keys.py)."""
        return None

    def key_summary(self, issuer_id):
        """Defect 19: registration's eagerly formatted debug line asks for the summary of a client
        that has no keys here (none are kept in memory), which raised ``IssuerNotFound``."""
        issuer = self._get_issuer(issuer_id)
        return issuer.key_summary() if issuer is not None else ""

    def _add_issuer(self, issuer_id):
        if issuer_id == "" or issuer_id == self.issuer:
            return super()._add_issuer(issuer_id)
        return KeyIssuer(name=issuer_id)  # a client's: never kept in process memory

    def __setitem__(self, issuer_id, key_issuer):
        if issuer_id == "" or issuer_id == self.issuer:
            super().__setitem__(issuer_id, key_issuer)

    def add_kb(self, issuer_id, kb):
        if issuer_id == "" or issuer_id == self.issuer:
            super().add_kb(issuer_id, kb)
