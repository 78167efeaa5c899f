"""Token values at rest (defect 74: idpyoidc's ``Grant.dump`` holds every code's and token's value,
and each parent's in ``based_on``): a grant's row holds a keyed hash of each, never the value.

A presented value still finds its grant without the stored one (an opaque token carries its session
id, a JWT its ``sid``); within the grant, idpyoidc finds the token by comparing values with ``==``
(``Grant.get_token``, ``revoke_token``, ``SessionManager.find_token``). A loaded token's ``value``
and ``based_on`` are therefore ``StoredValue``: the digest, equal to the raw value it was made from
and to the same digest. Tokens minted in this request keep their raw value (the response carries
it) until their grant is dumped (``idpy.node_codec.compact``).
"""

from contextvars import ContextVar

from oidc_provider.crypto import TOKEN_DIGEST_PREFIX, token_digest

# The last raw value digested here and its digest: ``get_token`` compares one presented value
# with each of a grant's tokens, and hashes it once.
_last = ContextVar("last_token_digest", default=(None, None))


def _digest(value: str) -> str:
    raw, digest = _last.get()
    if raw is not value and raw != value:
        digest = token_digest(value)
        _last.set((value, digest))
    return digest


class StoredValue(str):
    """A token value as its row holds it (``at_rest``). Equal to another ``StoredValue`` of the
    same digest, and to a plain string whose digest it is: a plain string is always a raw value
    (presented or just minted), never compared as a digest, so the digest read from a copy of the
    database is no token either."""

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, StoredValue):
            return str.__eq__(self, other)
        if isinstance(other, str):
            return str.__eq__(self, _digest(other))
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__  # of the digest: never mix raw values and StoredValues in a set (``at_rest``)


def at_rest(value) -> str:
    """The digest of a raw value or of a ``StoredValue``, as a plain string (for rows and sets)."""
    return str.__str__(value) if isinstance(value, StoredValue) else token_digest(value)


def presented(value) -> str:
    """``at_rest`` of a value presented by a client (or a ``StoredValue``): the same digest, remembered
    for the value compared with a grant's tokens next (``StoredValue.__eq__``), so it is hashed once."""
    return str.__str__(value) if isinstance(value, StoredValue) else _digest(value)


def loaded(value) -> StoredValue:
    """A value read from a row; a row written before values were hashed holds the raw value."""
    return StoredValue(value if value.startswith(TOKEN_DIGEST_PREFIX) else token_digest(value))
