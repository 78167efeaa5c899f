"""The cost of a refresh along one rotation chain: our OP in-process, one refresh token rotated N times
(each refresh presents the refresh token the previous one returned, as a client does), and the cost
of the refresh at rotation 1, 100 and 1,000 (by default).

    python3 bench/refresh_growth.py [--db sqlite|postgres] [--rotations 1 100 1000] [--window 10]
                                    [--instructions]

Without ``--instructions``: one process rotates the chain and times every refresh; each figure is the
median over the ``--window`` refreshes from that rotation on (CPU: ``time.process_time``; wall:
``time.perf_counter``), with the statements one refresh sends, the size of the grant's row and, on
PostgreSQL, the buffer pages the database touched per refresh (its own work, which neither CPU figure
nor an instruction count of this process includes).
With ``--instructions`` (valgrind's callgrind, the figure that holds on a shared machine): the chain
is rotated natively up to each rotation, then one process under callgrind warms up on a chain of its
own and runs the ``--window`` refreshes from that rotation on; only those are counted (callgrind dumps
its counters at each call of ``getsid``, which marks the start and the end of the measured part).

Uses ``bench/.venvs/ours`` when present, else the running interpreter, which then needs this checkout
installed (``.venv/bin/python bench/refresh_growth.py``). PostgreSQL: database
``bench_refresh_growth`` on 127.0.0.1, re-created; SQLite: ``/tmp/bench_refresh_growth.sqlite3``, in
WAL mode as the benchmark's peers run.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CLIENT_ID = "growth"
SCOPE = "openid profile email offline_access"
WARMUP = 20


# -- in the child process (Django configured) -------------------------------------------------------


def _django():
    import django

    django.setup()
    import bench_common as bc
    from django.test import Client

    class Browser(Client):  # forms as RPs send them, not the test client's multipart
        def post(self, path, data=None, **extra):
            from urllib.parse import urlencode

            return super().post(path, urlencode(data or {}), content_type="application/x-www-form-urlencoded", **extra)

    return bc, Browser


def _setup(state_file):
    """Client, user, and two chains' first refresh tokens: the measured one and one to warm up on."""
    from urllib.parse import parse_qs, urlsplit

    bc, Browser = _django()
    from django.core.management import call_command

    bc.migrate()
    [user] = bc.create_users(1)
    secret = bc.new_secret()
    call_command(
        "createclient",
        "--client-id",
        CLIENT_ID,
        f"--client-secret={secret}",
        "--redirect-uri",
        bc.REDIRECT_URI,
        "--skip-consent",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        stdout=open(os.devnull, "w"),
    )
    [session] = bc.logged_in_sessions([user])
    browser = Browser()
    browser.cookies["sessionid"] = session
    auth = bc.basic_auth(CLIENT_ID, secret)
    chains = {}
    for name in ("measured", "warm"):
        response = browser.get(f"/oidc/authorize?{bc.authorize_query(CLIENT_ID, state=name, scope=SCOPE)}")
        code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": bc.REDIRECT_URI,
            "code_verifier": bc.CODE_VERIFIER,
        }
        response = Browser().post("/oidc/token", form, HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200 and "refresh_token" in response.json(), response.content
        chains[name] = response.json()["refresh_token"]
    Path(state_file).write_text(json.dumps({"auth": auth, "chains": chains, "rotations": {"measured": 0, "warm": 0}}))


class Chain:
    def __init__(self, state_file):
        self.file = Path(state_file)
        self.state = json.loads(self.file.read_text())
        _, self.Browser = _django()

    def refresh(self, name):
        response = self.Browser().post(
            "/oidc/token",
            {"grant_type": "refresh_token", "refresh_token": self.state["chains"][name]},
            HTTP_AUTHORIZATION=self.state["auth"],
        )
        assert response.status_code == 200, response.content
        self.state["chains"][name] = response.json()["refresh_token"]
        self.state["rotations"][name] += 1

    def save(self):
        self.file.write_text(json.dumps(self.state))


def _grant_row_bytes():
    """The size of the measured chain's grant row (the first grant made), as stored."""
    from django.db import connection

    from oidc_provider.models import SessionNode

    table = connection.ops.quote_name(SessionNode._meta.db_table)
    length = "octet_length(data::text)" if connection.vendor == "postgresql" else "length(data)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {length} FROM {table} WHERE kind = 'grant' ORDER BY id LIMIT 1")
        return cursor.fetchone()[0] or 0


def _pg_blocks():
    """PostgreSQL: the buffer pages (shared hits and reads, tables, indexes and TOAST) this app's
    tables have been touched for so far: the database's own work, which no client-side count sees."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    time.sleep(0.2)  # the backend flushes its counters once idle
    columns = ("heap_blks", "idx_blks", "toast_blks", "tidx_blks")
    total = " + ".join(f"coalesce({c}_hit, 0) + coalesce({c}_read, 0)" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(f"SELECT sum({total}) FROM pg_statio_user_tables WHERE relname LIKE 'oidc_provider_%%'")
        return int(cursor.fetchone()[0] or 0)


def _rotate(state_file, until, marks, window, report):
    """Rotate the measured chain until it has been rotated ``until`` times; with ``report``, time each
    refresh and print, for each rotation in ``marks``, the medians of the ``window`` refreshes from it."""
    from django.db import connection

    chain = Chain(state_file)
    for _ in range(WARMUP if report else 0):
        chain.refresh("warm")
    sent = [0]

    def count(execute, sql, params, many, context):
        sent[0] += 1
        return execute(sql, params, many, context)

    window_times = []
    while chain.state["rotations"]["measured"] < until:
        rotation = chain.state["rotations"]["measured"] + 1
        mark = next((m for m in marks if m <= rotation < m + window), None)
        if mark is None:
            chain.refresh("measured")
            continue
        if rotation == mark:
            blocks = _pg_blocks()
        sent[0] = 0
        with connection.execute_wrapper(count):
            cpu, wall = time.process_time(), time.perf_counter()
            chain.refresh("measured")
            window_times.append((time.process_time() - cpu, time.perf_counter() - wall, sent[0]))
        if rotation == mark + window - 1:
            after = _pg_blocks()
            print(
                json.dumps(
                    {
                        "rotation": mark,
                        "cpu_ms": statistics.median(t[0] for t in window_times) * 1000,
                        "wall_ms": statistics.median(t[1] for t in window_times) * 1000,
                        "statements": statistics.median(t[2] for t in window_times),
                        "grant_row_bytes": _grant_row_bytes(),
                        "db_blocks": None if blocks is None else (after - blocks) / window,
                    }
                ),
                flush=True,
            )
            window_times = []
    chain.save()


def _measure(state_file, window):
    """Under callgrind: warm up on the warm chain, then the ``window`` refreshes of the measured chain
    between two calls of ``getsid`` (callgrind dumps its counters at each)."""
    chain = Chain(state_file)
    for _ in range(WARMUP):
        chain.refresh("warm")
    os.getsid(0)
    for _ in range(window):
        chain.refresh("measured")
    os.getsid(0)
    chain.save()


# -- the orchestrating process -------------------------------------------------------------------


def _environment(db):
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="peer_settings",
        # this checkout's oidc_provider, whatever the interpreter has installed
        PYTHONPATH=os.pathsep.join([str(BENCH / "peers" / "ours"), str(BENCH / "peers"), str(BENCH.parent)]),
        PYTHONHASHSEED="0",
    )
    if db == "postgres":
        subprocess.run(
            [
                "psql",
                "-qh",
                "127.0.0.1",
                "-U",
                "postgres",
                "-c",
                "DROP DATABASE IF EXISTS bench_refresh_growth",
                "-c",
                "CREATE DATABASE bench_refresh_growth",
            ],
            check=True,
        )
        env["BENCH_DATABASE"] = "postgres:bench_refresh_growth"
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/bench_refresh_growth.sqlite3{suffix}").unlink(missing_ok=True)
        env["BENCH_DATABASE"] = "sqlite:/tmp/bench_refresh_growth.sqlite3"
    return env


def _python():
    venv = BENCH / ".venvs" / "ours" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _child(env, *args, valgrind=()):
    done = subprocess.run(
        [*valgrind, _python(), __file__, "--child", *map(str, args)],
        env=env,
        cwd=BENCH / "peers" / "ours",
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{args}: {done.stdout[-1000:]}{done.stderr[-3000:]}")
    return done.stdout


def _instructions(env, state_file, window):
    """Instructions per refresh of the ``window`` refreshes from the chain's current rotation on."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        _child(
            {**env, "PYTHONMALLOC": "malloc"},
            "measure",
            state_file,
            window,
            valgrind=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-before=getsid"),
        )
        parts = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rpartition(".")[2]))
        # part 1: start-up and warm-up (dumped at the first getsid); part 2: the measured refreshes
        text = parts[1].read_text()

    total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(total.group(1)) / window


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--rotations", nargs="+", type=int, default=[1, 100, 1000])
    parser.add_argument("--window", type=int, default=10, help="refreshes measured from each rotation on")
    parser.add_argument("--instructions", action="store_true", help="count instructions with callgrind")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, state_file, *rest = args.child
        if step == "setup":
            return _setup(state_file)
        if step == "rotate":
            until, window, *marks = map(int, rest)
            return _rotate(state_file, until, marks, window, report=bool(marks))
        return _measure(state_file, int(rest[0]))

    marks = sorted(args.rotations)
    env = _environment(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        state_file = Path(tmp) / "state.json"
        _child(env, "setup", state_file)
        print(f"refresh along one rotation chain, {args.db}, median of {args.window} refreshes from each rotation")
        if not args.instructions:
            out = _child(env, "rotate", state_file, marks[-1] + args.window - 1, args.window, *marks)
            print(
                f"{'rotation':>9} {'CPU ms':>8} {'wall ms':>8} {'statements':>11} {'grant row bytes':>16}"
                f" {'database pages':>15}"
            )
            for line in out.splitlines():
                r = json.loads(line)
                pages = "–" if r["db_blocks"] is None else f"{r['db_blocks']:.1f}"
                print(
                    f"{r['rotation']:>9,} {r['cpu_ms']:>8.2f} {r['wall_ms']:>8.2f} {r['statements']:>11.0f}"
                    f" {r['grant_row_bytes']:>16,} {pages:>15}"
                )
            return 0
        print(f"{'rotation':>9} {'instructions':>14}")
        for mark in marks:
            _child(env, "rotate", state_file, mark - 1, args.window)
            count = _instructions(env, state_file, args.window)
            print(f"{mark:>9,} {count / 1e6:>13.2f}M", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
