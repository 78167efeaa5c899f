"""Instructions of the parts of a request, counted by valgrind's callgrind in one process: our OP in-process
(Django test client, as ``inproc.py``), each whole request of userinfo, introspection, client credentials and
authorization, then each part those requests consist of, called on its own as many times. Each figure is the part's
instructions per call; set against the request's own count it is that part's share, with no profiler's
overhead in it (cProfile's ``inproc.py --profile`` doubles the times and weighs small calls most).

    python3 bench/phase_instructions.py [--db postgres|sqlite] [-n 50]

Uses ``bench/.venvs/ours`` when present, else the running interpreter. PostgreSQL: database
``bench_phases``, re-created; SQLite: ``/tmp/bench_phases.sqlite3`` (WAL). ``BENCH_CLIENT_CACHE_TTL`` as the
peer project reads it (5 s by default; 0: every request reads the client's row).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WARMUP = 20


def _child(n):
    from urllib.parse import parse_qs, urlencode, urlsplit

    import django

    django.setup()
    import bench_common as bc
    from django.contrib.auth import get_user, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.test import Client as DjangoBrowser
    from django.test import RequestFactory

    from oidc_provider.idpy.client_db import client_to_idpy
    from oidc_provider.idpy.node_codec import dump, load_node
    from oidc_provider.models import Client, SessionNode
    from oidc_provider.server import get_server
    from oidc_provider.storage.rows import get_row
    from oidc_provider.storage.session_tree_rows import select_rows
    from oidc_provider.storage.unit_of_work import GRANTS, READ_ONLY, unit_of_work
    from oidc_provider.views.authorization import authorization_endpoint

    bc.migrate()
    user = bc.create_users(1)[0]
    secret = bc.new_secret()
    call_command(
        "createclient",
        "--client-id",
        "perf",
        f"--client-secret={secret}",
        "--redirect-uri",
        bc.REDIRECT_URI,
        "--skip-consent",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "client_credentials",
        stdout=open(os.devnull, "w"),
    )
    browser = DjangoBrowser()
    browser.cookies["sessionid"] = bc.logged_in_sessions([user])[0]
    auth = bc.basic_auth("perf", secret)

    class Browser(DjangoBrowser):  # forms as the RPs send them
        def post(self, path, data=None, **extra):
            return super().post(path, urlencode(data or {}), content_type="application/x-www-form-urlencoded", **extra)

    http = Browser()
    location = browser.get(f"/oidc/authorize?{bc.authorize_query('perf')}")["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": bc.REDIRECT_URI}
    token = http.post("/oidc/token", {**form, "code_verifier": bc.CODE_VERIFIER}, HTTP_AUTHORIZATION=auth).json()
    access_token = token["access_token"]
    grant_key = SessionNode.objects.filter(kind=SessionNode.GRANT).values_list("key", flat=True).get()
    client = get_row(Client, client_id="perf", is_active=True)
    User = get_user_model()

    def ok(response):
        assert response.status_code == 200, response.content

    endpoint = authorization_endpoint()
    params = {k: v[0] for k, v in parse_qs(bc.authorize_query("perf", state="1")).items()}
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    parsed = endpoint.parse_request(dict(params))
    with unit_of_work(READ_ONLY):
        issued = endpoint.process_request(parsed.copy(), http_info={}, authn=authn)
        grant = get_server().context.session_manager[issued["session_id"]]
    factory = RequestFactory()

    def in_unit(policy, call):
        def run():
            with unit_of_work(policy):
                return call()

        return run

    def session_user():
        request = factory.get("/")
        request.session = SessionStore(browser.cookies["sessionid"].value)
        return get_user(request)

    parts = {
        "userinfo request": lambda: ok(http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")),
        "introspection request": lambda: ok(
            http.post("/oidc/introspect", {"token": access_token}, HTTP_AUTHORIZATION=auth)
        ),
        "client credentials request": lambda: ok(
            http.post("/oidc/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
        ),
        "client row: statement and model (get_row)": lambda: get_row(Client, client_id="perf", is_active=True),
        "client's secret checked (Client.check_secret)": lambda: client.check_secret(secret),
        "client's idpyoidc dict (client_to_idpy)": lambda: client_to_idpy(client),
        "grant row: statement (select_rows)": lambda: select_rows([grant_key]),
        "grant row: idpyoidc objects (load_node)": lambda: load_node(SessionNode.objects.get(key=grant_key)),
        "grant row: ORM read alone (for the line above)": lambda: SessionNode.objects.get(key=grant_key),
        "user row (get_row)": lambda: get_row(User, **{User._meta.pk.name: user.pk}),
        "authorization request": lambda: browser.get(f"/oidc/authorize?{bc.authorize_query('perf')}"),
        "Django's session and user (auth.get_user)": session_user,
        "authorization: parse_request": in_unit(READ_ONLY, lambda: endpoint.parse_request(dict(params))),
        "authorization: process_request, nothing written": in_unit(
            READ_ONLY, lambda: endpoint.process_request(parsed.copy(), http_info={}, authn=authn)
        ),
        "authorization: process_request, the grant written": in_unit(
            GRANTS, lambda: endpoint.process_request(parsed.copy(), http_info={}, authn=authn)
        ),
        "authorization: the grant's dump (node_codec.dump)": lambda: dump(grant),
        "authorization: the redirect's query (Message.request)": lambda: issued["response_args"].request(
            issued["return_uri"]
        ),
    }
    for run in parts.values():
        for _ in range(WARMUP):
            run()
    names = []
    for name, run in parts.items():
        os.getsid(0)  # callgrind dumps its counters here: one part between two calls
        for _ in range(n):
            run()
        names.append(name)
    os.getsid(0)
    print("--parts--\n" + "\n".join(names))


def _env(db):
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="peer_settings",
        PYTHONPATH=os.pathsep.join([str(BENCH / "peers" / "ours"), str(BENCH / "peers")]),
        PYTHONMALLOC="malloc",
        PYTHONHASHSEED="0",
    )
    if db == "postgres":
        for sql in ("DROP DATABASE IF EXISTS bench_phases", "CREATE DATABASE bench_phases"):
            subprocess.run(["psql", "-qh", "127.0.0.1", "-U", "postgres", "-c", sql], check=True)
        env["BENCH_DATABASE"] = "postgres:bench_phases"
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/bench_phases.sqlite3{suffix}").unlink(missing_ok=True)
        env["BENCH_DATABASE"] = "sqlite:/tmp/bench_phases.sqlite3"
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("-n", type=int, default=50, help="calls of each part")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child)
    venv = BENCH / ".venvs" / "ours" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-before=getsid"]
            + [python, __file__, "--child", str(args.n)],
            env=_env(args.db),
            cwd=BENCH / "peers" / "ours",
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{done.stdout[-1000:]}{done.stderr[-3000:]}")
        names = done.stdout.split("--parts--\n", 1)[1].strip().splitlines()
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rpartition(".")[2]))
        counts = [int(re.search(r"^(?:summary|totals): (\d+)", d.read_text(), re.M).group(1)) for d in dumps]
    # dump 0: start-up and warm-up (to the first getsid); dump i: part i (to the next getsid); then the exit
    ttl = os.environ.get("BENCH_CLIENT_CACHE_TTL", "5")
    print(f"instructions per call ({args.db}, n={args.n}, CLIENT_CACHE_TTL {ttl})")
    for name, count in zip(names, counts[1 : len(names) + 1], strict=True):
        print(f"  {count / args.n / 1e6:8.3f} M  {name}")


if __name__ == "__main__":
    sys.exit(main())
