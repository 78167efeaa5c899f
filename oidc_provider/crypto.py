"""Keys derived from OIDC_PROVIDER["SECRET"] (and ["KEY_ENCRYPTION_SECRET"] for signing keys at
rest), and the secret comparisons built on them.

Every process derives the same keys, so a code minted by one worker is redeemed by another and
``sub`` never changes across restarts: no secret is a per-process random (docs/deployment.md).

Keys are derived with HKDF-SHA256 (RFC 5869), ``info`` naming their purpose (``derive_key``). Before,
they were HKDF-Expand alone, the secret itself taken as the pseudorandom key (``expand_key``): what was
written with those keys is still read (docs/security.md, "Key derivation"), and the values the database
is searched by, or that relying parties keep, stay with them.
"""

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from oidc_provider.conf import oidc_settings

# RFC 5869 §3.1: a salt need not be secret; a fixed one names this application's keys apart from
# other uses of the same secret (Django's SECRET_KEY, by default). The same in every process.
HKDF_SALT = b"django-idpyoidc-op"


def _secret(secret: str | None) -> bytes:
    return (secret if secret is not None else oidc_settings.SECRET).encode()


def derive_key(purpose: str, length: int = 32, secret: str = None) -> bytes:
    """A ``length``-byte key for ``purpose``: HKDF-SHA256 of ``secret`` (by default SECRET)."""
    return HKDF(SHA256(), length, salt=HKDF_SALT, info=purpose.encode()).derive(_secret(secret))


def expand_key(purpose: str, length: int = 32, secret: str = None) -> bytes:
    """The derivation used before ``derive_key``: HKDF-Expand of ``secret`` (RFC 5869 §2.3) without
    the extract step. For values the database is searched by or relying parties keep (token digests,
    session key digests, OP session keys, the ``sub`` salt), and to read what was written with it."""
    return HKDFExpand(SHA256(), length, info=purpose.encode()).derive(_secret(secret))


@lru_cache(maxsize=16)
def _key(purpose: str, secret: str, hkdf: bool = True) -> bytes:
    return (derive_key if hkdf else expand_key)(purpose, secret=secret)


HASH_PREFIX = "hmac-sha256-hkdf$"
EXPANDED_HASH_PREFIX = "hmac-sha256$"  # hashes written before HKDF


def _hash(token: str, purpose: str, hkdf: bool) -> str:
    key = _key(purpose, oidc_settings.SECRET, hkdf=hkdf)
    return (HASH_PREFIX if hkdf else EXPANDED_HASH_PREFIX) + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def pairwise_sub(sector: str, user_id: str) -> str:
    """A pairwise ``sub`` (OpenID Connect Core 1.0 §8.1): HMAC-SHA256 of the sector and the local user
    id under a key derived (HKDF) from SECRET, the same in every process. The two parts are
    length-prefixed, so no other (sector, user) pair writes the same message; a public ``sub`` is a
    hash with the session encrypter's salt (``server._encrypter_conf``), never this value."""
    key = _key("sub:pairwise", oidc_settings.SECRET)
    sector_bytes, user_bytes = sector.encode(), str(user_id).encode()
    message = len(sector_bytes).to_bytes(4, "big") + sector_bytes + len(user_bytes).to_bytes(4, "big") + user_bytes
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hash_token(token: str, purpose: str) -> str:
    """Keyed SHA-256 of a high-entropy secret: fast, deterministic (so rows can be looked up by it)
    and useless without SECRET."""
    return _hash(token, purpose, hkdf=True)


def token_hashes(token: str, purpose: str) -> tuple[str, str]:
    """The hashes a row written now or before HKDF holds for ``token``: look rows up by either."""
    return _hash(token, purpose, hkdf=True), _hash(token, purpose, hkdf=False)


TOKENS_AT_REST = "tokens-at-rest"
TOKEN_DIGEST_PREFIX = "$"  # a character no token value contains (base64, base64url, JWT)


def token_digest(value: str) -> str:
    """What a grant's row holds instead of a token's value: a keyed SHA-256 of it, as ``$`` and 43
    base64url characters. Finds the token again from its value; useless without SECRET."""
    # Not HKDF, here and in ``session_key_digest``: rows are found by these digests, and a new key
    # would lose every live token and browser session at the upgrade (or cost a second lookup each).
    mac = hmac.new(_key(TOKENS_AT_REST, oidc_settings.SECRET, hkdf=False), value.encode(), hashlib.sha256).digest()
    return TOKEN_DIGEST_PREFIX + base64.urlsafe_b64encode(mac).decode()[:43]


SESSION_KEYS_AT_REST = "django-session-keys-at-rest"


def session_key_digest(session_key: str) -> str:
    """What ``django_session.session_key`` holds instead of a browser's session key: a keyed SHA-256
    of it in 40 lowercase base32 characters. The column is varchar(40), so the 256-bit MAC is cut
    to 200 bits (still far beyond guessing or colliding); base32 because some databases compare
    keys case-insensitively, which would cost base64url's mixed case bits."""
    key = _key(SESSION_KEYS_AT_REST, oidc_settings.SECRET, hkdf=False)
    mac = hmac.new(key, session_key.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:40]


CLIENT_SECRET = "client-secret"


def hash_client_secret(secret: str) -> str:
    return hash_token(secret, CLIENT_SECRET)


def check_client_secret(secret, stored: str) -> bool:
    """Constant-time comparison of a presented secret with its stored hash (written now or before HKDF)."""
    if not stored or not isinstance(secret, str):
        return False
    return hmac.compare_digest(_hash(secret, CLIENT_SECRET, hkdf=stored.startswith(HASH_PREFIX)), stored)


def generate_client_secret() -> str:
    """64 random bytes (86 characters): as long as RFC 7518 §3.2 wants of an HS512 key, which a
    ``client_secret_jwt`` client may sign with."""
    return secrets.token_urlsafe(64)


KEYS_AT_REST = "signing-keys-at-rest"


def _key_fernet() -> MultiFernet:
    """Encrypts with KEY_ENCRYPTION_SECRET; also decrypts what its fallbacks encrypted, and what any
    of them encrypted before HKDF (``rotatekeys --reencrypt`` rewrites it)."""
    secrets_ = [oidc_settings.KEY_ENCRYPTION_SECRET, *oidc_settings.KEY_ENCRYPTION_SECRET_FALLBACKS]
    keys = [derive(KEYS_AT_REST, secret=s) for s in secrets_ for derive in (derive_key, expand_key)]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def encrypt_text(text: str) -> str:
    return _key_fernet().encrypt(text.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _key_fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise ValueError(
            "cannot decrypt: KEY_ENCRYPTION_SECRET (or SECRET, or SECRET_KEY) changed without the old value "
            "in KEY_ENCRYPTION_SECRET_FALLBACKS"
        ) from err


def reencrypt_text(token: str) -> str:
    """``token`` encrypted with the current KEY_ENCRYPTION_SECRET (MultiFernet.rotate)."""
    try:
        return _key_fernet().rotate(token.encode()).decode()
    except InvalidToken as err:
        raise ValueError("cannot decrypt a signing key with KEY_ENCRYPTION_SECRET or its fallbacks") from err


# The members of a JWK that are private key material (RFC 7518 §6): a public key has none of them.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
