"""Grant rows written before token values were hashed: each code's and token's ``value`` and each
``based_on`` become their keyed hash (``crypto.token_digest``, from OIDC_PROVIDER["SECRET"]), an ID
token's value its reference. Not reversible: the values are gone, which is the point; reversing it
leaves the rows as they are, and the previous release cannot find a token in them (its holders must
authorize again)."""

from django.db import migrations

from oidc_provider.crypto import TOKEN_DIGEST_PREFIX, token_digest

_REF = "#"  # idpy.node_codec: a reference to a token of the same grant by id


def _digested(value):
    return value if value.startswith((TOKEN_DIGEST_PREFIX, _REF)) else token_digest(value)


def digested_data(data):
    """``data`` with no token value in it, or ``None`` if it had none."""
    changed = False
    issued = []
    for item in data.get("issued_token") or []:
        entry = {}
        for name, token in item.items():
            token = dict(token)
            value = token.get("value")
            if value:
                new = _REF + token["id"] if token.get("token_class") == "id_token" else _digested(value)
                changed |= new != value
                token["value"] = new
            based_on = token.get("based_on")
            if based_on:
                token["based_on"] = _digested(based_on)
                changed |= token["based_on"] != based_on
            entry[name] = token
        issued.append(entry)
    return {**data, "issued_token": issued} if changed else None


def digest_token_values(apps, schema_editor):
    SessionNode = apps.get_model("oidc_provider", "SessionNode")
    grants = SessionNode.objects.using(schema_editor.connection.alias).filter(kind="grant")
    pks = list(grants.values_list("pk", flat=True))
    for start in range(0, len(pks), 500):
        for node in grants.filter(pk__in=pks[start : start + 500]).only("pk", "data"):
            data = digested_data(node.data)
            if data is not None:
                node.data = data
                node.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_provider", "0006_sessionnode_indexes"),
    ]

    operations = [
        migrations.RunPython(digest_token_values, migrations.RunPython.noop, elidable=True),
    ]
