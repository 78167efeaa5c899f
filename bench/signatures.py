"""The cost of one RS256 and one ES256 signature of an ID-token-sized payload (cryptojwt, in-process)."""

import json
import timeit

from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.rsa import new_rsa_key
from cryptojwt.jws.jws import JWS

PAYLOAD = {
    "iss": "http://127.0.0.1:8000/oidc",
    "sub": "a" * 64,
    "aud": ["bench-client"],
    "exp": 1999999999,
    "iat": 1700000000,
    "auth_time": 1700000000,
    "nonce": "nn",
    "at_hash": "b" * 22,
    "sid": "c" * 120,
}


def cost(alg, key, number=300):
    signer = JWS(json.dumps(PAYLOAD), alg=alg)
    signer.sign_compact([key])  # warm-up
    best = min(timeit.repeat(lambda: signer.sign_compact([key]), number=number, repeat=5))
    return 1000 * best / number


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "RS256_ms": cost("RS256", new_rsa_key(key_size=2048, kid="r")),
                "ES256_ms": cost("ES256", new_ec_key("P-256", kid="e")),
            }
        )
    )
