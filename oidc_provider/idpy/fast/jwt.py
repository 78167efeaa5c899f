"""Speed rewrite: an RSA PKCS#1 v1.5 (``RS256``, ``RS384``, ``RS512``) JWT signed as cryptojwt's ``JWT.pack``
signs it, without the ``JWS`` and ``JWSig`` objects it builds on the way (not a defect fix).

Measured (callgrind, SQLite): cryptojwt's ``JWT.pack`` of an ID token is ~0.3 M instructions over the
signature itself (6.5 M for RSA-2048); a code redemption 13.37 → 13.15 M (``bench/instructions.py``).
RSASSA-PKCS1-v1_5 is deterministic, so ``tests/protocol/test_fast_jwt.py`` compares whole tokens: the same
key, header, payload and signature. Any other algorithm, an encrypted or unsigned JWT, extra headers or a
``jti`` of cryptojwt's are its own.
"""

import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptojwt.jwt import JWT
from cryptojwt.utils import b64e

HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}
COMPACT = (",", ":")  # cryptojwt's separators for a header


class FastJWT(JWT):
    def pack(self, payload=None, kid="", issuer_id="", recv="", aud=None, iat=None, jws_headers=None, **kwargs):
        """``JWT.pack``: the payload, then its ``iss``, ``iat``, ``exp`` and ``aud`` (``pack_init``), as JSON; a
        header of the algorithm and the key's ``kid``; the key ``pack_key`` picks."""
        if kwargs or jws_headers or self.encrypt or not self.sign or self.with_jti or self.alg not in HASHES:
            return super().pack(payload, kid, issuer_id, recv, aud, iat, jws_headers, **kwargs)
        claims = dict(payload or {})
        claims.update(self.pack_init(recv, aud, iat))
        key = self.pack_key(issuer_id or self.iss, kid)
        header = {"alg": self.alg, "kid": key.kid} if key.kid else {"alg": self.alg}
        message = self.message(signing_key=key, **claims).encode()
        signing_input = b64e(json.dumps(header, separators=COMPACT).encode()) + b"." + b64e(message)
        signature = key.private_key().sign(signing_input, padding.PKCS1v15(), HASHES[self.alg]())
        return (signing_input + b"." + b64e(signature)).decode()
