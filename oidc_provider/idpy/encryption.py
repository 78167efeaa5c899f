"""Encrypted ID tokens and userinfo responses (OIDC Core §10.2, §5.3.2; OIDC Registration §2).

A client that registered ``{kind}_encrypted_response_alg`` (``kind``: id_token, userinfo) gets that
response as a JWE to one key of its JWK Set (``metadata.encryption_keys``): nested, signed then
encrypted with ``cty: JWT``, or, for a userinfo response it did not ask to be signed, encrypted JSON.
The key's ``kid`` goes in the JWE header; ECDH-ES takes a fresh ephemeral key per JWE (cryptojwt's
``JWE_EC.enc_setup``).

The key is read before the response's work starts (``prepare``): a ``jwks_uri`` is fetched through
``oidc_provider.outbound``, which sends nothing inside a database transaction, and the token endpoint
spends the code inside one. A client without a usable key gets an error before anything is spent or
issued.
"""

import logging

from cryptojwt.jwe.jwe_ec import JWE_EC
from cryptojwt.jwe.jwe_rsa import JWE_RSA
from cryptojwt.jwe.utils import get_random_bytes

from oidc_provider import outbound
from oidc_provider.metadata import encryption_key_type, encryption_keys
from oidc_provider.storage import unit_of_work

logger = logging.getLogger(__name__)


def _iv(enc, iv=""):
    """Defect 174: cryptojwt draws a 128-bit IV for every ``enc``; AES-GCM's is 96 bits (RFC 7518
    §5.3), and other libraries (joserfc) refuse such a JWE. AES-CBC's stays 128 (§5.2)."""
    return iv or get_random_bytes(12 if enc.endswith("GCM") else 16)


class RSAEncrypter(JWE_RSA):
    _generate_iv = staticmethod(_iv)


class ECEncrypter(JWE_EC):
    _generate_iv = staticmethod(_iv)


def jwe(payload: str, key, header: dict) -> str:
    """``payload`` as a compact JWE to ``key`` with ``header`` (alg, enc, cty) and the key's kid: what
    cryptojwt's ``JWE.encrypt`` does for one RSA or EC key, with ``_iv``'s IVs. ECDH-ES: a fresh
    ephemeral key on the recipient's curve (``JWE_EC.enc_setup``), its public part in ``epk``."""
    header = {**header, **({"kid": key.kid} if key.kid else {})}
    if key.kty == "RSA":
        return RSAEncrypter(payload, **header).encrypt(key=key.public_key())
    encrypter = ECEncrypter(**header)
    cek, encrypted_key, iv, params, _ = encrypter.enc_setup(payload, key=key, **header)
    return encrypter.encrypt(cek=cek, iv=iv, encrypted_key=encrypted_key, params=params)


class EncryptionKeyMissing(Exception):
    """The client registered encryption and has no key it can be done to; ``str()`` says why."""


def algorithms(client_info: dict, kind: str):
    """(alg, enc) the client registered for ``kind`` (idpy/client_db.py sets both), or None."""
    alg = client_info.get(f"{kind}_encrypted_response_alg")
    return (alg, client_info[f"{kind}_encrypted_response_enc"]) if alg else None


def find_key(keyjar, client_info: dict, kind: str):
    """The client's key to encrypt ``kind`` to, read now. Keys cached from a ``jwks_uri`` without a
    usable one are fetched again, at most once per CLIENT_JWKS_REFETCH_INTERVAL (the client may have
    just published it). Inside a transaction a ``jwks_uri`` is not fetched: the key should have been
    found before (``prepare``), and a refused fetch would be remembered as the client's failure."""
    alg, _ = algorithms(client_info, kind)
    if client_info.get("jwks_uri") and outbound.in_transaction():
        raise EncryptionKeyMissing(f"The key to encrypt the {kind} response to was not read in time.")
    bundle = keyjar.client_keys.bundle(client_info, lacks=lambda keys: not encryption_keys(keys.keys(), alg))
    if bundle is None:
        raise EncryptionKeyMissing(f"The client's JWK Set could not be read to encrypt the {kind} response.")
    keys = encryption_keys(bundle.keys(), alg)
    if not keys:
        raise EncryptionKeyMissing(
            f"The client's JWK Set has no key to encrypt the {kind} response with {alg} "
            f"(an {encryption_key_type(alg)} key with use enc or no use)."
        )
    return keys[0]


def _lookup(keyjar, client_info: dict, kind: str):
    """The key (or the ``EncryptionKeyMissing``) for ``kind``, found once per unit of work."""
    unit = unit_of_work.active()
    slot = (client_info["client_id"], kind)
    if unit is not None and slot in unit.encryption_keys:
        return unit.encryption_keys[slot]
    try:
        found = find_key(keyjar, client_info, kind)
    except EncryptionKeyMissing as err:
        logger.info("no encryption key for client %s: %s", client_info.get("client_id"), err)
        found = err
    if unit is not None:
        unit.encryption_keys[slot] = found
    return found


def prepare(keyjar, client_info: dict, kind: str) -> str | None:
    """Find the key ``kind`` will be encrypted to and keep it in the unit of work: call it before the
    request's transaction. Returns why there is none (the error description), or None (found, or
    the client registered no encryption)."""
    if algorithms(client_info, kind) is None:
        return None
    found = _lookup(keyjar, client_info, kind)
    return str(found) if isinstance(found, EncryptionKeyMissing) else None


def encrypt(keyjar, client_info: dict, kind: str, payload: str, cty: str) -> str:
    """``payload`` (a JWS with ``cty`` JWT, or JSON with no ``cty``) as the JWE the client registered
    for ``kind``; unchanged if it registered none. The key is the one ``prepare`` found, else it is
    looked for now. Raises ``EncryptionKeyMissing``."""
    algs = algorithms(client_info, kind)
    if algs is None:
        return payload
    key = _lookup(keyjar, client_info, kind)
    if isinstance(key, EncryptionKeyMissing):
        raise key
    alg, enc = algs
    return jwe(payload, key, {"alg": alg, "enc": enc, **({"cty": cty} if cty else {})})
