"""What of a grant's tokens is kept when its row is written: idpyoidc keeps every token forever, so
a grant's row would otherwise grow with each refresh."""

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.token_values import at_rest


def _is_live(token, now):
    return not token.revoked and (not token.expires_at or token.expires_at > now)


def prune_tokens(grant, now):
    """Drop what no request will read again:

    - expired and revoked tokens, except the parent of a live token without a scope of its own
      (``find_scope`` reads it there; rotation would otherwise keep every refresh token of the last
      access-token lifetime), and a refresh token rotated out less than REFRESH_TOKEN_REUSE_WINDOW
      ago (``idpy.refresh_token``: presented again then, it is a retry, not a replay);
    - every ID token but the latest, expired or not: its ``sid`` is what a logout token must carry
      (``last_issued_token_of_type``), and nothing reads the older ones;
    - the ``based_on`` of a token whose parent is gone and that has a scope of its own: a dangling
      reference (about 50 bytes each) that nothing can follow.

    What remains grows only with the access tokens still live: refreshes within ACCESS_TOKEN_LIFETIME.
    """
    window = oidc_settings.REFRESH_TOKEN_REUSE_WINDOW
    needed, rotated = set(), set()
    for t in grant.issued_token:
        if t.based_on and _is_live(t, now) and not t.scope:
            needed.add(at_rest(t.based_on))
        if t.based_on and t.token_class == "refresh_token" and now - t.issued_at < window:
            rotated.add(at_rest(t.based_on))
    id_token = grant.last_issued_token_of_type("id_token")
    grant.issued_token = [
        t
        for t in grant.issued_token
        if (t is id_token and not t.revoked)
        or (t.token_class != "id_token" and (_is_live(t, now) or _kept(t, needed, rotated)))
    ]
    values = {at_rest(t.value) for t in grant.issued_token if t.token_class != "id_token"}
    for token in grant.issued_token:
        if token.based_on and token.scope and at_rest(token.based_on) not in values:
            token.based_on = None


def _kept(token, needed, rotated):
    if not needed and not rotated:
        return False
    value = at_rest(token.value)
    return value in needed or (token.token_class == "refresh_token" and value in rotated)
