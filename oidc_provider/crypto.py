"""Keys derived from OIDC_PROVIDER["SECRET"] (and ["KEY_ENCRYPTION_SECRET"] for signing keys at
rest), and the secret comparisons built on them.

Every process derives the same keys, so a code minted by one worker is redeemed by another and
``sub`` never changes across restarts: no secret is a per-process random (docs/deployment.md).
"""

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from oidc_provider.conf import oidc_settings


def derive_key(purpose: str, length: int = 32, secret: str = None) -> bytes:
    """A ``length``-byte key for ``purpose`` (HKDF-like expand of ``secret``, by default SECRET)."""
    master = (secret if secret is not None else oidc_settings.SECRET).encode()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(master, block + purpose.encode() + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def hash_token(token: str, purpose: str) -> str:
    """Keyed SHA-256 of a high-entropy secret: fast, deterministic (so rows can be looked up by it)
    and useless without SECRET."""
    digest = hmac.new(derive_key(purpose), token.encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256${digest}"


TOKENS_AT_REST = "tokens-at-rest"
TOKEN_DIGEST_PREFIX = "$"  # a character no token value contains (base64, base64url, JWT)


@lru_cache(maxsize=4)
def _key(purpose: str, secret: str) -> bytes:
    return derive_key(purpose, secret=secret)


def token_digest(value: str) -> str:
    """What a grant's row holds instead of a token's value: a keyed SHA-256 of it, as ``$`` and 43
    base64url characters. Finds the token again from its value; useless without SECRET."""
    mac = hmac.new(_key(TOKENS_AT_REST, oidc_settings.SECRET), value.encode(), hashlib.sha256).digest()
    return TOKEN_DIGEST_PREFIX + base64.urlsafe_b64encode(mac).decode()[:43]


SESSION_KEYS_AT_REST = "django-session-keys-at-rest"


def session_key_digest(session_key: str) -> str:
    """What ``django_session.session_key`` holds instead of a browser's session key: a keyed SHA-256
    of it in 40 lowercase base32 characters. The column is varchar(40), so the 256-bit MAC is cut
    to 200 bits (still far beyond guessing or colliding); base32 because some databases compare
    keys case-insensitively, which would cost base64url's mixed case bits."""
    mac = hmac.new(_key(SESSION_KEYS_AT_REST, oidc_settings.SECRET), session_key.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:40]


def hash_client_secret(secret: str) -> str:
    return hash_token(secret, "client-secret")


def check_client_secret(secret, stored: str) -> bool:
    """Constant-time comparison of a presented secret with its stored hash."""
    if not stored or not isinstance(secret, str):
        return False
    return hmac.compare_digest(hash_client_secret(secret), stored)


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)


KEYS_AT_REST = "signing-keys-at-rest"


def _key_fernet() -> MultiFernet:
    """Encrypts with KEY_ENCRYPTION_SECRET; also decrypts what its fallbacks encrypted."""
    secrets_ = [oidc_settings.KEY_ENCRYPTION_SECRET, *oidc_settings.KEY_ENCRYPTION_SECRET_FALLBACKS]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derive_key(KEYS_AT_REST, secret=s))) for s in secrets_])


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
