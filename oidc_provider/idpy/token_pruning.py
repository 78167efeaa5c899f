"""What of a grant's tokens its row keeps when it is written. idpyoidc keeps every token forever; the
tokens minted into an existing grant have rows of their own (``idpy.grant_tokens``), deleted by
``clearexpired`` once expired, so what is pruned here is what the grant's row holds: its ID tokens and
the tokens minted with it."""

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.token_values import at_rest


def _is_live(token, now):
    return not token.revoked and (not token.expires_at or token.expires_at > now)


def prune_tokens(kept, tokens, now):
    """Of ``kept`` (tokens of a grant's row; ``tokens``: every token of the grant in memory, ``kept``
    among them), what the row keeps; drops what no request will read again:

    - expired and revoked tokens, except the parent of a live token without a scope of its own
      (``find_scope`` reads it there), and a refresh token rotated out less than
      REFRESH_TOKEN_REUSE_WINDOW ago (``idpy.refresh_token``: presented again then, it is a retry, not
      a replay);
    - every ID token but one, expired or not: its ``sid`` is what a logout token must carry
      (``last_issued_token_of_type``), and nothing reads anything else of it. That is the latest's
      ``sid``; of the live ID tokens with it (a grant's tokens all carry the session id its code
      did), the first is kept, the one the row held already: a refresh that mints another leaves
      the row as it was, and writes no grant (``session_tree.flush``). None if the latest is revoked.
    """
    window = oidc_settings.REFRESH_TOKEN_REUSE_WINDOW
    needed, rotated = set(), set()
    for t in tokens:
        if t.based_on and _is_live(t, now) and not t.scope:
            needed.add(at_rest(t.based_on))
        if t.based_on and t.token_class == "refresh_token" and now - t.issued_at < window:
            rotated.add(at_rest(t.based_on))
    id_tokens = [t for t in kept if t.token_class == "id_token"]
    latest = max(id_tokens, key=lambda t: t.issued_at, default=None)
    id_token = None
    if latest is not None and not latest.revoked:
        id_token = next(t for t in id_tokens if not t.revoked and t.session_id == latest.session_id)
    return [
        t
        for t in kept
        if t is id_token or (t.token_class != "id_token" and (_is_live(t, now) or _kept(t, needed, rotated)))
    ]


def _kept(token, needed, rotated):
    if not needed and not rotated:
        return False
    value = at_rest(token.value)
    return value in needed or (token.token_class == "refresh_token" and value in rotated)
