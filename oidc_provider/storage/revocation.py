"""Revoking parts of idpyoidc's session tree in its ``SessionNode`` rows, tokens included.

idpyoidc 5.0.0 revokes nodes but leaves their tokens usable (defect 6), so the rows are edited
directly: a node's ``revoked`` and, in a grant's dump, every token's; the tokens with rows of their
own (``storage.token_rows``) by one statement for all the grants.
"""

from django.db import transaction
from django.db.models import Q
from idpyoidc.server.constant import DIVIDER

from oidc_provider.models import SessionNode
from oidc_provider.storage import token_rows


def revoked_data(data, is_grant):
    """A node's dump with ``revoked`` set, and for a grant every token in ``issued_token`` too."""
    data = {**data, "revoked": True}
    if is_grant:
        # Grant.dump() -> issued_token_dump: [{"<qualified class name>": <SessionToken.dump()>}, ...]
        data["issued_token"] = [
            {name: {**token, "revoked": True} for name, token in item.items()} for item in data.get("issued_token", [])
        ]
    return data


def subtree(keys) -> Q:
    """Matches the nodes ``keys`` and every node under them."""
    match = Q(key__in=keys)
    for key in keys:
        match |= Q(key__startswith=key + DIVIDER)
    return match


def revoke_nodes(queryset):
    """Revoke the selected session-tree nodes, every node under them and every token in their grants
    (defect 6): locked with ``select_for_update`` (the token endpoint locks grant rows too) and written
    in one transaction. Returns how many rows were revoked.
    """
    with transaction.atomic():
        keys = list(queryset.values_list("key", flat=True))
        if not keys:
            return 0
        rows = list(SessionNode.objects.select_for_update().filter(subtree(keys)).order_by("pk"))
        for row in rows:
            row.revoked = True
            row.data = revoked_data(row.data, row.kind == SessionNode.GRANT)
            row.save(update_fields=["revoked", "data", "updated_at"])
        token_rows.revoke_grants(row.key for row in rows if row.kind == SessionNode.GRANT)
        return len(rows)
