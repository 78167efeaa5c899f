"""idpyoidc's cookies, made and thrown away.

The OP's browser session is Django's (views pass idpyoidc no cookies and never send the ones it
makes), yet idpyoidc signs and encrypts a session cookie on every authorization response
(``new_cookie``; ``idpy.token`` skips the token endpoint's). This handler keeps their shape and skips
the cryptography.
"""

from idpyoidc.server.cookie_handler import CookieHandler


class UnusedCookies(CookieHandler):
    def make_cookie_content(self, name, value, typ="", timestamp="", max_age=0, **kwargs) -> dict:
        return {"name": name, "value": ""}
