"""Tokens in rows of their own (``IssuedToken``): every code and token of a grant row but its ID tokens
moves out of the row's ``issued_token`` into a row keyed by its digest, with its parent's digest (a
reference by id, ``#<id>``, resolved), its use count, ``revoked`` and expiry in columns. ID tokens stay in
the grant's row; one that referred to a moved token by id now names its digest.

Reversible: reversed, each grant's token rows go back into its ``issued_token`` (after its ID tokens,
in the order they were written), as the previous release reads them, and the table is dropped."""

import datetime as dt

from django.db import migrations, models

from oidc_provider.crypto import TOKEN_DIGEST_PREFIX, token_digest

_REF = "#"  # idpy.node_codec: a reference to a token of the same grant by id
_COLUMNS = ("value", "based_on", "used", "revoked")
BATCH = 500


def _digest(value):
    return value if value.startswith(TOKEN_DIGEST_PREFIX) else token_digest(value)


def split(data):
    """``(data without the moved tokens, [(class name, token dump)] moved)``; ``None`` for the first
    when nothing moves."""
    items = [(name, token) for item in data.get("issued_token") or [] for name, token in item.items()]
    moved = [(name, token) for name, token in items if token.get("token_class") != "id_token"]
    if not moved:
        return None, []
    digests = {token["id"]: _digest(token["value"]) for _, token in moved if token.get("value")}

    def parent(token):
        based_on = token.get("based_on") or ""
        if based_on.startswith(_REF):
            return digests.get(based_on[1:], "")
        return _digest(based_on) if based_on else ""

    kept = []
    for name, token in items:
        if token.get("token_class") == "id_token":
            token = dict(token)
            if (token.get("based_on") or "").startswith(_REF):
                if parent(token):
                    token["based_on"] = parent(token)
                else:
                    token.pop("based_on")
            kept.append({name: token})
    rest = {k: v for k, v in data.items() if k != "issued_token"}
    if kept:
        rest["issued_token"] = kept
    return rest, [(name, {**token, "based_on": parent(token)}) for name, token in moved if token.get("value")]


def move_tokens_out(apps, schema_editor):
    SessionNode = apps.get_model("oidc_provider", "SessionNode")
    IssuedToken = apps.get_model("oidc_provider", "IssuedToken")
    db = schema_editor.connection.alias
    grants = SessionNode.objects.using(db).filter(kind="grant")
    pks = list(grants.values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(pks), BATCH):
        for node in grants.filter(pk__in=pks[start : start + BATCH]).only("pk", "key", "data"):
            data, moved = split(node.data)
            if data is None:
                continue
            rows = []
            for name, token in moved:
                expires_at = token.get("expires_at")
                rows.append(
                    IssuedToken(
                        digest=_digest(token["value"]),
                        grant_key=node.key,
                        token_class=token.get("token_class", ""),
                        class_name=name,
                        based_on=token["based_on"],
                        used=token.get("used", 0),
                        revoked=bool(token.get("revoked")),
                        expires_at=dt.datetime.fromtimestamp(expires_at, tz=dt.UTC) if expires_at else None,
                        data={k: v for k, v in token.items() if k not in _COLUMNS},
                    )
                )
            IssuedToken.objects.using(db).bulk_create(rows, ignore_conflicts=True)
            node.data = data
            node.save(update_fields=["data"])


def move_tokens_back(apps, schema_editor):
    SessionNode = apps.get_model("oidc_provider", "SessionNode")
    IssuedToken = apps.get_model("oidc_provider", "IssuedToken")
    db = schema_editor.connection.alias
    keys = sorted(set(IssuedToken.objects.using(db).values_list("grant_key", flat=True)))
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        tokens = {}
        for row in IssuedToken.objects.using(db).filter(grant_key__in=batch).order_by("pk"):
            token = {**row.data, "value": row.digest}
            token.update({"based_on": row.based_on} if row.based_on else {})
            token.update({"used": row.used} if row.used else {})
            token.update({"revoked": True} if row.revoked else {})
            tokens.setdefault(row.grant_key, []).append({row.class_name: token})
        for node in SessionNode.objects.using(db).filter(key__in=batch).only("pk", "key", "data"):
            node.data = {**node.data, "issued_token": (node.data.get("issued_token") or []) + tokens[node.key]}
            node.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0010_cleanup_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="IssuedToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=64)),
                ("grant_key", models.CharField(max_length=700)),
                ("token_class", models.CharField(max_length=32)),
                ("class_name", models.CharField(max_length=255)),
                ("based_on", models.CharField(blank=True, max_length=64)),
                ("used", models.PositiveIntegerField(default=0)),
                ("revoked", models.BooleanField(default=False)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("data", models.JSONField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=["digest"], name="oidc_token_digest")],
                "indexes": [models.Index(fields=["grant_key"], name="oidc_token_grant")],
            },
        ),
        migrations.RunPython(move_tokens_out, move_tokens_back),
    ]
