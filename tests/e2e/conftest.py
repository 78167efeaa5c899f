"""Fixtures of the end-to-end suite: one database and one gunicorn OP per session.

The database is a temp SQLite file, or the PostgreSQL database ``test_oidc_e2e`` when
``DATABASE_URL`` points at PostgreSQL. Each test registers its own client (unique client_id); the
user is shared (consent is per user and client, so every new client asks for it again).
"""

import json
import os
import re
import uuid
from types import SimpleNamespace

import pytest

from tests.e2e.browser import new_session
from tests.e2e.live import Database, LiveServer
from tests.rp_server import RPServer

REDIRECT_URI = "https://rp.example/cb"

USER = SimpleNamespace(
    username="alice", password="wonderland-123", email="alice@example.org", given_name="Alice", family_name="Liddell"
)
CREATE_USER = (
    "from django.contrib.auth import get_user_model\n"
    f"get_user_model().objects.create_user({USER.username!r}, {USER.email!r}, {USER.password!r}, "
    f"first_name={USER.given_name!r}, last_name={USER.family_name!r})"
)


@pytest.fixture(scope="session")
def op_db():
    db = Database(os.environ.get("DATABASE_URL"))
    db.create()
    yield db
    db.drop()


@pytest.fixture(scope="session")
def op_server(op_db):
    """The OP: migrated database, ``gunicorn -w 1`` at ``op_server.url``, issuer ``<url>/oidc``."""
    server = LiveServer(op_db)
    server.manage("migrate", "--noinput", "-v", "0")
    server.manage("shell", "-c", CREATE_USER)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_server(op_db):
    """``start_server(**kwargs)``: another LiveServer on the session's database, stopped with the module."""
    servers = []

    def start(**kwargs):
        server = LiveServer(op_db, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
        assert "Traceback" not in server.log(), server.log()


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """Fail a test during which the session's OP logged a traceback (a 5xx, or worse)."""
    if "op_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("op_server")
    start = len(server.log())
    yield
    new = server.log()[start:]
    assert "Traceback" not in new, f"the OP logged an error during the test:\n{new}"


@pytest.fixture(scope="session")
def op_user():
    """The user created with the OP database."""
    return USER


@pytest.fixture(scope="session")
def op_discovery(op_server):
    response = new_session().get(f"{op_server.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.json()


def register_clients(
    server, count=1, *, secret=None, auth_method="client_secret_basic", scope="openid profile email", extra=()
):
    """``createclient`` ``count`` times in one ``django-admin shell`` run (one Django start-up, not
    ``count``), each with a fresh client_id and ``extra`` arguments; returns their id, secret,
    redirect_uri, scope and auth method."""
    calls = []
    for _ in range(count):
        args = [
            "createclient",
            "--client-id",
            f"rp-{uuid.uuid4().hex[:12]}",
            "--redirect-uri",
            REDIRECT_URI,
            "--scope",
            scope,
            *extra,
        ]
        if auth_method == "none":
            args.append("--public")
        else:
            args += ["--token-endpoint-auth-method", auth_method] + ([f"--client-secret={secret}"] if secret else [])
        calls.append(args + list(extra))
    script = (
        "import json\nfrom django.core.management import call_command\n"
        f"for args in json.loads({json.dumps(calls)!r}):\n    call_command(*args)"
    )
    output = server.manage("shell", "-c", script)
    ids = re.findall(r"^client_id=(.*)$", output, re.M)
    has_secret = auth_method.startswith("client_secret_")
    secrets = re.findall(r"^client_secret=(.*)$", output, re.M) if has_secret else [None] * count
    assert len(ids) == len(secrets) == count, output
    return [
        SimpleNamespace(client_id=i, client_secret=s, redirect_uri=REDIRECT_URI, scope=scope, auth_method=auth_method)
        for i, s in zip(ids, secrets, strict=True)
    ]


@pytest.fixture(scope="session")
def client_pool():
    """Clients registered ahead, ten at a time per auth method (django-admin start-up dominates)."""
    return {}


@pytest.fixture
def make_client(op_server, client_pool):
    """``make_client(auth_method=..., secret=..., scope=..., extra=(createclient arguments))``: a
    client of its own for the calling test."""

    def make(auth_method="client_secret_basic", secret=None, scope="openid profile email", extra=()):
        if secret:
            return register_clients(op_server, secret=secret, auth_method=auth_method, scope=scope, extra=extra)[0]
        pool = client_pool.setdefault((auth_method, scope, tuple(extra)), [])
        if not pool:
            pool.extend(register_clients(op_server, 10, auth_method=auth_method, scope=scope, extra=extra))
        return pool.pop()

    return make


@pytest.fixture(scope="session")
def rp_server():
    """Relying parties' logout endpoints: an HTTP server in the test process that records requests."""
    server = RPServer()
    yield server
    server.stop()


@pytest.fixture
def register(op_discovery):
    """``register(**metadata)``: a client made through the OP's registration endpoint (RFC 7591)."""

    def register(**metadata):
        body = {"redirect_uris": [REDIRECT_URI], "scope": "openid profile email", **metadata}
        response = new_session().post(op_discovery["registration_endpoint"], json=body)
        assert response.status_code == 201, response.text
        info = response.json()
        return SimpleNamespace(
            client_id=info["client_id"],
            client_secret=info.get("client_secret"),
            redirect_uri=body["redirect_uris"][0],
            scope=body["scope"],
            auth_method=info["token_endpoint_auth_method"],
            registration=info,
        )

    return register
