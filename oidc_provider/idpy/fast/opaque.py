"""Speed rewrite: opaque tokens (codes, refresh tokens, opaque access tokens) in URL-safe base64 without
padding, where idpyoidc's ``DefaultToken`` writes standard base64 (not a defect fix).

A code travels in a redirect's query string and comes back in a form body; a refresh token, and an
access token presented for introspection or revocation, in a form body. Standard base64's ``+``, ``/``
and ``=`` must be percent-encoded there, so every one of them made ``quote_plus`` take its slow path
(about 25 µs for a 400-character value, 2 µs without) and the form parser unquote it (8 µs, 0.4 µs
without). RFC 6749 allows either (its ``VSCHAR`` tokens); RFC 4648 §5's alphabet is what other OPs use.

A token issued in standard base64 before the switch still reads. ``split_token`` reads a value in
either spelling and nothing else: where the stock method's ``b64decode`` skips characters outside the
alphabet, a value with any, or with padding its spelling does not have, is unknown here, not a token
whose row is gone (which a refresh takes for a replay: ``idpy.refresh_token``). A token is found by the
keyed hash of the value as presented (``storage.token_values``), so the other spelling of a token
decrypts but finds nothing: ``other_spelling`` lets the refresh grant tell it from a replay.
"""

import base64

from cryptojwt import as_unicode
from idpyoidc.server.token import DefaultToken
from idpyoidc.server.token.exception import UnknownToken
from idpyoidc.server.util import lv_unpack

_TO_URL_SAFE = str.maketrans("+/", "-_")
_TO_STANDARD = str.maketrans("-_", "+/")


class OpaqueToken(DefaultToken):
    def __call__(self, session_id="", token_class="", **payload) -> str:
        return super().__call__(session_id, token_class, **payload).translate(_TO_URL_SAFE).rstrip("=")

    def split_token(self, token):
        """Defect 208: the stock method's ``b64decode`` skips characters outside the alphabet, so a token had
        endless spellings; here a value in either spelling and no other."""
        try:
            raw = base64.b64decode(token.translate(_TO_STANDARD) + "=" * (-len(token) % 4), validate=True)
            standard = base64.b64encode(raw).decode()
            if token not in (standard, other_spelling(standard)):
                raise ValueError("not a spelling of the value")
            plain = self.crypt.decrypt(raw)
        except Exception as err:
            raise UnknownToken(err) from None
        return lv_unpack(as_unicode(plain))  # as the stock method: (random, class, session id, expiry)


def other_spelling(value: str) -> str:
    """The same bytes in the other alphabet: URL-safe unpadded for a standard value, standard padded for a
    URL-safe one (``value`` itself when nothing tells them apart)."""
    if "+" in value or "/" in value or value.endswith("="):
        return value.translate(_TO_URL_SAFE).rstrip("=")
    return value.translate(_TO_STANDARD) + "=" * (-len(value) % 4)
