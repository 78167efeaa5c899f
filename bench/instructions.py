"""Instructions per request, counted by valgrind (callgrind), in-process: each product's WSGI application
called as gunicorn calls it, with no HTTP server and no other load. Unlike CPU time on a shared machine,
the count moves little between runs (up to ~3%: the random tokens, secrets and keys of each set-up), so it
settles "is this change cheaper" and "which product does less work" when the timed figures (run.py) are
within the spread of a round. It does not see what load adds: cache misses, context switches, database
round trips as waits.

    python3 bench/instructions.py [--db postgres|sqlite] [--products ours dop] [--scenarios authorize …] [-n 100]
                                  [--cpu [--repeat 5]]

Needs valgrind (Debian: ``apt install valgrind``), PostgreSQL as run.py does (or ``--db sqlite``: a WAL file
per product, as run.py's SQLite runs), and the venvs run.py builds.
Each figure is (count after warm-up + n requests - count after warm-up) / n: start-up is left out.

``--cpu``: CPU time per request instead (``time.process_time`` around the n requests, after the warm-up, in the
same process), without valgrind and with Python's own allocator, as the servers run; the median of ``--repeat``
runs, the products interleaved, and each run's figure after it. Counts are taken with ``PYTHONMALLOC=malloc``
(valgrind must see each allocation) and see no cache; the time sees both, and the machine's noise (a run's spread
is printed so that it can be judged).
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

import envs
from measure import PEERS, Database, Server
from run import PRODUCTS  # product -> (peer, fixture variant)

SCENARIOS = ["floor", "authorize", "token", "refresh", "userinfo", "introspection", "client_credentials"]
WARMUP = 20


def _child(scenario, count, offset, warmup=0):
    """Run in the product's venv, in its peer directory: ``warmup`` then ``count`` requests of ``scenario``
    (the ``offset``-th pre-minted code or token on); the CPU time of the ``count`` on stderr."""
    import io
    from urllib.parse import urlencode

    import peer_wsgi
    from load import basic  # this script's directory is on sys.path in the child too

    fx = json.loads(Path(os.environ["BENCH_FIXTURE"]).read_text())
    var = fx["variants"][os.environ["BENCH_VARIANT"]]
    paths = fx["paths"]
    auth = basic(var["client_id"], var["client_secret"])
    cc = var["cc"] or {"client_id": "", "client_secret": ""}

    def request(i):
        """(method, path, query, form, WSGI headers, expected status) of the i-th request."""
        if scenario == "authorize":
            query = urlencode(
                {
                    "response_type": "code",
                    "client_id": var["client_id"],
                    "redirect_uri": var["redirect_uri"],
                    "scope": fx["scope"],
                    "state": "st",
                    "nonce": "nn",
                    "code_challenge": fx["code_challenge"],
                    "code_challenge_method": "S256",
                }
            )
            cookie = f"sessionid={fx['sessions'][i % len(fx['sessions'])]}"
            return "GET", paths["authorize"], query, None, {"HTTP_COOKIE": cookie}, 302
        if scenario == "token":
            form = {
                "grant_type": "authorization_code",
                "code": var["codes"][offset + i],
                "redirect_uri": var["redirect_uri"],
                "code_verifier": fx["code_verifier"],
            }
            return "POST", paths["token"], "", form, {"HTTP_AUTHORIZATION": auth}, 200
        if scenario == "refresh":
            form = {"grant_type": "refresh_token", "refresh_token": var["refresh_tokens"][offset + i]}
            return "POST", paths["token"], "", form, {"HTTP_AUTHORIZATION": auth}, 200
        if scenario == "floor":  # the stack both products run on: gunicorn's WSGI call, Django, a JSON view
            return "GET", paths["floor"], "", None, {}, 200
        if scenario == "userinfo":
            return "GET", paths["userinfo"], "", None, {"HTTP_AUTHORIZATION": f"Bearer {var['access_token']}"}, 200
        if scenario == "introspection":
            return "POST", paths["introspection"], "", {"token": var["access_token"]}, {"HTTP_AUTHORIZATION": auth}, 200
        form = {"grant_type": "client_credentials"}
        return (
            "POST",
            paths["token"],
            "",
            form,
            {"HTTP_AUTHORIZATION": basic(cc["client_id"], cc["client_secret"])},
            200,
        )

    statuses = []

    def call(i):
        method, path, query, form, headers, expected = request(i)
        body = urlencode(form).encode() if form else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            **({"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body))} if form else {}),
            **headers,
        }
        b"".join(peer_wsgi.application(environ, lambda status, _headers, _exc=None: statuses.append(status)))
        if not statuses[-1].startswith(str(expected)):
            sys.exit(f"{scenario}: request {i} answered {statuses[-1]}")

    for i in range(warmup):  # --cpu: made before the clock starts, as valgrind's runs subtract theirs
        call(i)
    start = time.process_time()
    for i in range(warmup, warmup + count):
        call(i)
    print(f"cpu_s {time.process_time() - start}", file=sys.stderr)


def _run(server, variant, scenario, count, offset, valgrind=(), warmup=0):
    """The child in the product's venv (under ``valgrind`` if given); its stderr. Under valgrind
    ``PYTHONMALLOC=malloc``: valgrind sees the allocations; a fixed hash seed: the same dict layouts in every run."""
    child = ["--child", scenario, str(count), str(offset), str(warmup)]
    command = [*valgrind, str(envs.python(server.venv)), __file__, *child]
    env = {**server.env(), "BENCH_VARIANT": variant, "PYTHONHASHSEED": "0"}
    if valgrind:
        env["PYTHONMALLOC"] = "malloc"
    done = subprocess.run(command, cwd=PEERS / server.peer, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{server.name} {scenario}: {done.stdout[-500:]}{done.stderr[-1500:]}")
    return done.stderr


def _instructions(server, variant, scenario, count, offset):
    """Instructions valgrind counts for start-up plus ``count`` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = _run(
            server,
            variant,
            scenario,
            count,
            offset,
            ("valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / 'out'}"),
        )
    return int(re.search(r"Collected : (\d+)", out).group(1))


def _cpu_ms(server, variant, scenario, count, offset):
    """CPU milliseconds per request of ``count`` requests in one process, after the warm-up."""
    out = _run(server, variant, scenario, count, offset, warmup=WARMUP)
    return float(re.search(r"cpu_s ([\d.e-]+)", out).group(1)) / count * 1000


def _count(server, variant, scenario, n):
    """Instructions per request: start-up and warm-up left out by subtracting a run of the warm-up alone."""
    # once without valgrind, so that what happens only once (bytecode compiled, a scenario's first
    # rows and keys made) is in neither count
    _run(server, variant, scenario, WARMUP, 2 * WARMUP + n)
    base = _instructions(server, variant, scenario, WARMUP, 0)
    total = _instructions(server, variant, scenario, WARMUP + n, WARMUP)
    return (total - base) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--products", nargs="+", default=["ours", "dop"], choices=[p for p in PRODUCTS if p != "node"])
    parser.add_argument("--scenarios", nargs="+", default=SCENARIOS, choices=SCENARIOS)
    parser.add_argument("-n", type=int, default=100, help="measured requests per scenario")
    parser.add_argument("--cpu", action="store_true", help="CPU time per request, not instructions (no valgrind)")
    parser.add_argument("--repeat", type=int, default=5, help="with --cpu: runs per product, interleaved")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, count, offset, warmup = args.child
        return _child(scenario, int(count), int(offset), int(warmup))

    workdir = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    os.environ["BENCH_LIVE_TOKENS"] = "0"  # the *_many scenarios' tokens: not measured here
    what = f"CPU ms per request, median of {args.repeat}" if args.cpu else "instructions per request"
    print(f"{'scenario':20}" + "".join(f"{p:>14}" for p in args.products) + f"   ({what}, {args.db})")
    servers = {}
    for product in args.products:
        peer, _ = PRODUCTS[product]
        if peer not in servers:
            envs.ensure(peer)
            server = Server(f"instr-{peer}", peer, Database(args.db, f"instr_{peer}_{os.getpid()}", workdir), workdir)
            server.setup((args.repeat * (WARMUP + args.n) if args.cpu else 3 * WARMUP + args.n) + 10)
            servers[peer] = server
    try:
        for scenario in args.scenarios:
            if args.cpu:
                runs = {product: [] for product in args.products}
                for r in range(args.repeat):  # interleaved: a slow spell of the machine falls on every product
                    for product in args.products:
                        peer, variant = PRODUCTS[product]
                        runs[product].append(_cpu_ms(servers[peer], variant, scenario, args.n, r * (WARMUP + args.n)))
                cells = [f"{statistics.median(runs[p]):>12.3f}ms" for p in args.products]
                # each run too: the spread tells whether the medians differ
                cells.append("   " + " | ".join(" ".join(f"{ms:.3f}" for ms in runs[p]) for p in args.products))
            else:
                cells = [
                    f"{_count(servers[PRODUCTS[p][0]], PRODUCTS[p][1], scenario, args.n) / 1e6:>13.2f}M"
                    for p in args.products
                ]
            print(f"{scenario:20}" + "".join(cells), flush=True)
    finally:  # the databases are named after this process: drop them, or each run leaves its own
        for server in servers.values():
            server.db.drop()


if __name__ == "__main__":
    main()
