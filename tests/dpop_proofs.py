"""DPoP proofs (RFC 9449 §4) built with joserfc, independently of the OP's code (``oidc_provider.idpy.dpop``)."""

import base64
import hashlib
import json
import time
import uuid

from joserfc import jws
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey


class Holder:
    """A client's DPoP key and the proofs it signs."""

    def __init__(self, kind="EC", bits=2048):
        if kind == "EC":
            self.key, self.alg = ECKey.generate_key("P-256"), "ES256"
        elif kind == "OKP":
            self.key, self.alg = OKPKey.generate_key("Ed25519"), "EdDSA"
        else:
            self.key, self.alg = RSAKey.generate_key(bits), "PS256"

    @staticmethod
    def now():
        return int(time.time())

    @property
    def jkt(self):
        return self.key.thumbprint()  # RFC 7638, SHA-256

    def proof(self, method, url, access_token=None, header=None, **claims):
        payload = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        if access_token is not None:
            payload["ath"] = ath(access_token)
        payload.update(claims)
        protected = {"alg": self.alg, "typ": "dpop+jwt", "jwk": self.key.as_dict(private=False)}
        protected.update(header or {})
        protected = {k: v for k, v in protected.items() if v is not None}
        return jws.serialize_compact(protected, json.dumps(payload), self.key, algorithms=[self.alg])

    def proof_with_private_jwk(self, method, url):
        protected = {"alg": self.alg, "typ": "dpop+jwt", "jwk": self.key.as_dict(private=True)}
        payload = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        return jws.serialize_compact(protected, json.dumps(payload), self.key, algorithms=[self.alg])


def symmetric_proof(method, url):
    """alg HS256 with the (necessarily secret-less) key in the header: no proof of possession at all."""
    key = OctKey.generate_key(256)
    protected = {"alg": "HS256", "typ": "dpop+jwt", "jwk": key.as_dict(private=True)}
    payload = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    return jws.serialize_compact(protected, json.dumps(payload), key, algorithms=["HS256"])


def unsigned_proof(holder, method, url):
    """alg none (RFC 7519 §6): an unsecured JWT."""

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    header = {"alg": "none", "typ": "dpop+jwt", "jwk": holder.key.as_dict(private=False)}
    payload = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    return f"{b64(header)}.{b64(payload)}."


def ath(token):
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
