"""Our OP in-process (Django test client, no HTTP server): CPU per request of each scenario, the SQL
statements it costs, and optionally a cProfile. A quick loop for working on speed; the figures that
count are `run.py`'s.

    python3 bench/inproc.py [--db postgres|sqlite] [-n 200] [--profile SCENARIO] [--queries]

Uses `bench/.venvs/ours` when present (`run.py` builds it), else the running interpreter, which then needs
this checkout installed (`.venv/bin/python bench/inproc.py`). PostgreSQL: database `bench_inproc`, re-created.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _orm_timer():
    """Wrap the ORM's statement execution to add up its CPU time (compilation included)."""
    from django.db.models.sql import compiler

    total = [0.0]

    def timed(method):
        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                total[0] += time.process_time() - start

        return wrapper

    for cls in (compiler.SQLCompiler, compiler.SQLUpdateCompiler, compiler.SQLInsertCompiler):
        cls.execute_sql = timed(cls.__dict__.get("execute_sql", compiler.SQLCompiler.execute_sql))
    return total


PHASES = [  # (module, class or None, function): CPU inside each, per request, with --phases
    ("oidc_provider.views.base", "EndpointView", "handle"),
    ("idpyoidc.server.endpoint", "Endpoint", "parse_request"),
    ("idpyoidc.server.endpoint", "Endpoint", "client_authentication"),
    ("idpyoidc.server.endpoint", "Endpoint", "do_post_parse_request"),
    ("idpyoidc.server.endpoint", "Endpoint", "do_response"),
    ("oidc_provider.idpy.session_tree", "SessionTreeStore", "_fetch"),
    ("oidc_provider.idpy.session_tree", None, "flush"),
    ("oidc_provider.storage.clients", None, "client_row"),
    ("idpyoidc.server.session.grant", "Grant", "mint_token"),
    ("idpyoidc.server.token.id_token", "IDToken", "sign_encrypt"),
    ("oidc_provider.idpy.session_manager", "SessionManager", "add_grant"),
    ("oidc_provider.idpy.node_codec", None, "dump"),
    ("oidc_provider.storage.session_tree_rows", None, "insert"),
    ("oidc_provider.storage.session_tree_rows", None, "select_rows"),
    ("django.db.backends.utils", "CursorWrapper", "execute"),
    ("oidc_provider.idpy.client_authn", None, "_check"),
    ("oidc_provider.idpy.client_db", None, "client_to_idpy"),
    ("oidc_provider.throttling", None, "spend"),
    ("oidc_provider.views.base", None, "create_response"),
]


def _phase_timer():
    """Wrap PHASES (and each endpoint's process_request) to add up the CPU spent inside them."""
    import importlib

    totals = {}

    def wrap(owner, attr, name):
        method = getattr(owner, attr)

        def wrapper(*args, **kwargs):
            start = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.process_time() - start

        setattr(owner, attr, wrapper)

    for module, cls, func in PHASES:
        mod = importlib.import_module(module)
        wrap(getattr(mod, cls) if cls else mod, func, f"{cls or module.rsplit('.', 1)[1]}.{func}")
    from oidc_provider.server import get_server

    for endpoint in {type(e) for e in get_server().endpoint.values()}:
        if "process_request" in endpoint.__dict__:
            wrap(endpoint, "process_request", f"{endpoint.__name__}.process_request")
    return totals


def _print_profile(profile, name, n):
    profile.dump_stats(f"/tmp/inproc-{name}.prof")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    by_package = {}
    for (file, _, _), (_, _, tottime, _, _) in stats.stats.items():
        parts = file.split("site-packages/")
        package = (
            "/".join(parts[1].split("/")[:2])
            if len(parts) > 1
            else ("oidc_provider" if "oidc_provider" in file else file)
        )
        by_package[package] = by_package.get(package, 0) + tottime
    for package, total in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {total / n * 1000:7.2f} ms own time  {package}")


def _backend_cpu(connection):
    """A function reading the CPU seconds so far of the PostgreSQL backend serving ``connection`` (the
    server is local: its ``/proc``), or 0.0 elsewhere."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    return read


def _child(args):
    from urllib.parse import parse_qs, urlencode, urlsplit

    import django

    django.setup()
    import bench_common as bc
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as DjangoBrowser
    from django.test.utils import CaptureQueriesContext

    bc.migrate()
    users = bc.create_users(10)
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
        "refresh_token",
        "--grant-type",
        "client_credentials",
        stdout=open(os.devnull, "w"),
    )
    browsers = []
    for key in bc.logged_in_sessions(users):
        browsers.append(DjangoBrowser())
        browsers[-1].cookies["sessionid"] = key
    auth = bc.basic_auth("perf", secret)

    class Browser(DjangoBrowser):  # forms as the RPs send them, not the test client's multipart
        def post(self, path, data=None, **extra):
            return super().post(path, urlencode(data or {}), content_type="application/x-www-form-urlencoded", **extra)

    state = {"i": 0, "codes": [], "tokens": [], "refresh": []}

    def authorize(scope=bc.SCOPE):
        state["i"] += 1
        browser = browsers[state["i"] % len(browsers)]
        response = browser.get(f"/oidc/authorize?{bc.authorize_query('perf', state=str(state['i']), scope=scope)}")
        return parse_qs(urlsplit(response["Location"]).query)["code"][0]

    def token(code):
        response = Browser().post(
            "/oidc/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": bc.REDIRECT_URI,
                "code_verifier": bc.CODE_VERIFIER,
            },
            HTTP_AUTHORIZATION=auth,
        )
        assert response.status_code == 200, response.content
        return response.json()

    scenarios = {
        "authorize": lambda: state["codes"].append(authorize()),
        "token": lambda: state["tokens"].append(token(state["codes"].pop())["access_token"]),
        "flow": lambda: token(authorize()),
        "userinfo": lambda: Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + state["tokens"][0]),
        "introspection": lambda: Browser().post(
            "/oidc/introspect", {"token": state["tokens"][0]}, HTTP_AUTHORIZATION=auth
        ),
        "refresh": lambda: Browser().post(
            "/oidc/token",
            {"grant_type": "refresh_token", "refresh_token": state["refresh"].pop()},
            HTTP_AUTHORIZATION=auth,
        ),
        "client_credentials": lambda: Browser().post(
            "/oidc/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth
        ),
        "discovery": lambda: Browser().get("/oidc/.well-known/openid-configuration"),
        "jwks": lambda: Browser().get("/oidc/jwks"),
    }
    orm = _orm_timer()
    phases = _phase_timer() if args.phases else None
    backend = _backend_cpu(connection)
    for _ in range(20):  # warm up: server built, caches filled
        token(authorize())
    state["tokens"] = [token(authorize())["access_token"]]
    n = args.n
    for name, run in scenarios.items():
        if args.only and name not in args.only:
            continue
        if name == "token":  # codes to spend, minted outside the measurement
            state["codes"] += [authorize() for _ in range((args.rounds + 2) * n - len(state["codes"]))]
        if name == "refresh":  # one grant per refresh token, as the benchmark has
            state["refresh"] = [
                token(authorize(bc.SCOPE + " offline_access"))["refresh_token"] for _ in range((args.rounds + 2) * n)
            ]
        times, db_times = [], []
        orm[0] = 0.0
        if phases is not None:
            phases.clear()
        for _ in range(args.rounds):
            start, db_start = time.process_time(), backend()
            for _ in range(n):
                run()
            times.append((time.process_time() - start) / n * 1000)
            db_times.append((backend() - db_start) / n * 1000)
        with CaptureQueriesContext(connection) as captured:
            run()
        print(
            f"{name:20s} {statistics.median(times):6.2f} ms CPU (min {min(times):5.2f})"
            f"  {len(captured.captured_queries):3d} statements"
            f"  ORM {orm[0] / (args.rounds * n) * 1000:5.2f} ms"
            + (f"  database CPU {statistics.median(db_times):5.2f} ms" if connection.vendor == "postgresql" else ""),
            flush=True,
        )
        for phase, total in sorted((phases or {}).items(), key=lambda kv: -kv[1]):
            print(f"     {total / (args.rounds * n) * 1000:6.3f} ms  {phase}")
        if args.queries:
            for q in captured.captured_queries:
                print("     ", q["sql"][: args.sql_width])
        if args.profile == name:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(n):
                run()
            profile.disable()
            _print_profile(profile, name, n)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("-n", type=int, default=100, help="requests per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per scenario (the median and the minimum are shown)"
    )
    parser.add_argument("--profile", help="cProfile this scenario (stats also saved to /tmp/inproc-SCENARIO.prof)")
    parser.add_argument("--phases", action="store_true", help="CPU per request inside the main steps")
    parser.add_argument("--queries", action="store_true", help="print each scenario's SQL")
    parser.add_argument("--sql-width", type=int, default=160, help="characters of each statement --queries prints")
    parser.add_argument("--only", nargs="+", help="these scenarios only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="peer_settings",
        PYTHONPATH=os.pathsep.join([str(BENCH / "peers" / "ours"), str(BENCH / "peers")]),
    )
    if args.db == "postgres":
        subprocess.run(
            [
                "psql",
                "-qh",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                "DROP DATABASE IF EXISTS bench_inproc",
                "-c",
                "CREATE DATABASE bench_inproc",
            ],
            check=True,
        )
        env["BENCH_DATABASE"] = "postgres:bench_inproc"
    else:
        Path("/tmp/bench_inproc.sqlite3").unlink(missing_ok=True)
        env["BENCH_DATABASE"] = "sqlite:/tmp/bench_inproc.sqlite3"
    venv = BENCH / ".venvs" / "ours" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    return subprocess.run(
        [python, __file__, "--child", *sys.argv[1:]], env=env, cwd=BENCH / "peers" / "ours"
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
