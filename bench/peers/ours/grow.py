"""Growth: 10,000 more clients, 10,000 more users, each with 10 client sessions and 10 grants
(100,000 grants), bulk-inserted (COPY on PostgreSQL) by cloning the rows a real flow wrote."""

import json
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from oidc_provider.crypto import hash_client_secret
from oidc_provider.models import Client, SessionNode

CLIENTS, USERS, GRANTS_PER_USER = 10_000, 10_000, 10
COLUMNS = [
    "key",
    "parent_key",
    "kind",
    "user_id",
    "client_id",
    "class_name",
    "data",
    "revoked",
    "expires_at",
    "op_session",
    "created_at",
    "updated_at",
]


def _template(kind):
    row = SessionNode.objects.filter(kind=kind).order_by("id").first()
    return row, json.dumps(row.data)


def _clone(template, text, key, uid, cid, old_uid, old_cid, now):
    data = text.replace(old_cid, cid).replace(f'"{old_uid}"', f'"{uid}"')
    parent = ";;".join(key.split(";;")[:-1])
    return [
        key,
        parent,
        template.kind,
        uid,
        cid if template.kind != SessionNode.USER else "",
        template.class_name,
        data,
        False,
        template.expires_at,
        template.op_session,
        now,
        now,
    ]


def grow():
    now = timezone.now()
    secret_hash = hash_client_secret("grown-client-secret")
    with transaction.atomic():
        Client.objects.bulk_create(
            [
                Client(
                    client_id=f"grown-{i}",
                    client_secret_hash=secret_hash,
                    redirect_uris=[f"https://rp{i}.example/cb"],
                    grant_types=["authorization_code"],
                    response_types=["code"],
                    registered_via="command",
                )
                for i in range(CLIENTS)
            ],
            batch_size=2000,
        )
        User = get_user_model()
        User.objects.bulk_create(
            [User(username=f"grown-{i}", email=f"grown-{i}@example.org", password="!") for i in range(USERS)],
            batch_size=2000,
        )
        uids = [str(pk) for pk in User.objects.filter(username__startswith="grown-").values_list("pk", flat=True)]
        user_t, user_text = _template(SessionNode.USER)
        client_t, client_text = _template(SessionNode.CLIENT)
        grant_t, grant_text = _template(SessionNode.GRANT)
        old_uid, old_cid = user_t.user_id, client_t.client_id
        rows = []
        for n, uid in enumerate(uids):
            rows.append(_clone(user_t, user_text, uid, uid, "", old_uid, old_cid, now))
            for j in range(GRANTS_PER_USER):
                cid = f"grown-{(n * GRANTS_PER_USER + j) % CLIENTS}"
                ckey = f"{uid};;{cid}"
                rows.append(_clone(client_t, client_text, ckey, uid, cid, old_uid, old_cid, now))
                rows.append(_clone(grant_t, grant_text, f"{ckey};;{uuid.uuid4().hex}", uid, cid, old_uid, old_cid, now))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = SessionNode._meta.db_table
                with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            SessionNode.objects.bulk_create(
                [SessionNode(**dict(zip(COLUMNS, r[:6] + [json.loads(r[6])] + r[7:], strict=True))) for r in rows],
                batch_size=2000,
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"grown: {CLIENTS} clients, {len(uids)} users, {len(uids) * GRANTS_PER_USER} grants", flush=True)
