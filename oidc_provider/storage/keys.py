"""The OP's signing keys: ``SigningKey`` rows -> a cryptojwt ``KeyJar``.

Current keys are imported privately under both owners idpyoidc uses ("" to sign, the issuer to
verify its own JWTs); next and retired keys only publicly under the issuer, after the current
ones, so they are published and verify but never sign (defect 15, notes §5.5).
"""

import json
import secrets

from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.rsa import new_rsa_key
from cryptojwt.key_jar import KeyJar
from django.db import transaction

from oidc_provider import crypto
from oidc_provider.models import SigningKey

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

_GENERATORS = {
    "RS256": lambda kid: new_rsa_key(key_size=2048, kid=kid, use="sig"),
    "PS256": lambda kid: new_rsa_key(key_size=2048, kid=kid, use="sig"),
    "ES256": lambda kid: new_ec_key("P-256", kid=kid, use="sig"),
}
SUPPORTED_ALGS = tuple(_GENERATORS)


def public_jwk(jwk: dict) -> dict:
    return {k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS}


def create_signing_key(alg="RS256", state=SigningKey.CURRENT) -> SigningKey:
    """Generate a key for ``alg`` and store it, private part encrypted."""
    if alg not in _GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg!r}; choose one of {', '.join(SUPPORTED_ALGS)}")
    kid = secrets.token_urlsafe(16)
    jwk = _GENERATORS[alg](kid).serialize(private=True)
    jwk["alg"] = alg
    return SigningKey.objects.create(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public_jwk(jwk),
        private_jwk_encrypted=crypto.encrypt_text(json.dumps(jwk)),
    )


def ensure_signing_key(alg="RS256") -> None:
    """Create a current key for ``alg`` unless one exists (first run needs no manual step)."""
    with transaction.atomic():
        if not SigningKey.objects.select_for_update().filter(state=SigningKey.CURRENT, alg=alg).exists():
            create_signing_key(alg)


def build_keyjar(issuer: str, alg: str) -> KeyJar:
    ensure_signing_key(alg)
    rows = list(SigningKey.objects.order_by("-created_at"))
    current = [json.loads(crypto.decrypt_text(r.private_jwk_encrypted)) for r in rows if r.state == SigningKey.CURRENT]
    published = [r.public_jwk for r in rows if r.state != SigningKey.CURRENT]
    keyjar = KeyJar()
    keyjar.import_jwks({"keys": current}, "")
    keyjar.import_jwks({"keys": current + published}, issuer)
    return keyjar


def published_jwks(keyjar: KeyJar, issuer: str) -> dict:
    """Public keys only, whatever the key jar holds."""
    jwks = keyjar.export_jwks(issuer_id=issuer)
    return {"keys": [public_jwk(k) for k in jwks["keys"]]}
