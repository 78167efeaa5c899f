#!/usr/bin/env python3
"""Benchmark our OP against django-oauth-toolkit and django-oidc-provider. One command:

    python3 bench/run.py                      # PostgreSQL, 5 interleaved rounds, writes docs/benchmark.md
    python3 bench/run.py --db sqlite          # the same on SQLite
    python3 bench/run.py --growth             # ours: empty vs 100,000 grants and 10,000 clients
    python3 bench/run.py --memory 100000      # one worker's RSS over 100,000 requests
    python3 bench/run.py --profile            # cProfile of one worker: token, full flow, userinfo
    python3 bench/run.py --report             # only rebuild docs/benchmark.md from bench/results/

Needs Python 3.11+ and a local PostgreSQL (127.0.0.1:5432, user postgres, trust auth). The first
run builds one virtualenv per product under bench/.venvs/. See bench/README.md.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envs  # noqa: E402
import load  # noqa: E402
import report  # noqa: E402
from measure import Database, NodeServer, Server, cpu_delta, machine_cpu, rss_kib  # noqa: E402

RESULTS = envs.BENCH / "results"
SCENARIOS = [
    "discovery",
    "jwks",
    "token",
    "flow",
    "userinfo",
    "userinfo_many",
    "introspection",
    "introspection_many",
    "refresh",
    "refresh_chain",
    "client_credentials",
]
# fixture lists kept out of every job but the items each job is given
BULKY = ("codes", "refresh_tokens", "access_tokens", "chain_tokens")
# product -> (server, fixture variant)
PRODUCTS = {
    "ours": ("ours", "default"),
    "dot-hashed": ("dot", "hashed"),
    "dot-plain": ("dot", "plain"),
    "dop": ("dop", "default"),
    "node": ("node", "default"),  # node-oidc-provider: one process, in-memory adapter (bench/peers/node/)
}


class Bench:
    def __init__(self, args, servers, products):
        self.args = args
        self.servers = servers  # name -> Server
        self.products = products  # product -> (server name, variant)
        self.pool = ProcessPoolExecutor(args.clients, mp_context=get_context("spawn"))
        self.skipped = {}  # (product, scenario) -> why
        self.chains = {}  # (product, client index) -> [the head of its refresh chain, rotations so far]

    def items(self, product, scenario, slot):
        """The items of a scenario that uses some: for a spending one the single-use items of ``slot``
        (0: warm-up, 1..rounds), for a cycling one every live access token, for a chain each client's
        starting refresh token."""
        name, variant = self.products[product]
        every = self.servers[name].fixture["variants"][variant]
        if scenario in ("userinfo_many", "introspection_many"):
            return every.get("access_tokens", [])
        if scenario == "refresh_chain":
            return every.get("chain_tokens", [])
        key = {"token": "codes", "refresh": "refresh_tokens"}.get(scenario)
        if key is None:
            return []
        return every[key][slot * self.args.pool : (slot + 1) * self.args.pool]

    def available(self, product, scenario):
        name, variant = self.products[product]
        fixture = self.servers[name].fixture
        why = fixture["variants"][variant]["unavailable"].get(scenario)
        if why is None and scenario != "floor" and scenario in fixture["paths"] and not fixture["paths"][scenario]:
            why = "not yet available"
        if why is None and scenario in ("token", "refresh") and not self.items(product, scenario, 1):
            why = "not yet available (nothing to spend)"
        if why is None and scenario.endswith("_many") and not self.items(product, scenario, 1):
            why = "not set up (no live access tokens)"
        if why is None and scenario == "refresh_chain" and len(self.items(product, scenario, 1)) < self.args.clients:
            why = "not set up (fewer refresh chains than clients)"
        why = why or self.skipped.get((product, scenario))
        if why:
            self.skipped[(product, scenario)] = why
        return why is None

    def window(self, product, scenario, slot, duration, max_iterations=0):
        """Run one measurement window; returns throughput, latency, CPU and errors."""
        name, variant = self.products[product]
        server = self.servers[name]
        light = {
            **server.fixture,
            "variants": {variant: {k: v for k, v in server.fixture["variants"][variant].items() if k not in BULKY}},
        }
        items = self.items(product, scenario, slot)
        n = self.args.clients
        if scenario == "refresh_chain":
            chains = [self.chains.setdefault((product, i), [items[i], 0]) for i in range(n)]
            shares = [[chain[0]] for chain in chains]
        else:
            shares = [items[i::n] for i in range(n)]
        start_at = time.time() + 0.5
        jobs = [
            load.Job(
                server.port,
                scenario,
                light,
                variant,
                start_at,
                start_at + duration,
                shares[i],
                max_iterations and -(-max_iterations // n),
                light["sessions"][i % len(light["sessions"])],
            )
            for i in range(n)
        ]
        before, machine_before = server.cpu(), machine_cpu()
        parts = list(self.pool.map(load.run, jobs))
        after, machine_after = server.cpu(), machine_cpu()
        busy_s, stolen_s = (a - b for a, b in zip(machine_after, machine_before, strict=True))
        if scenario == "refresh_chain":
            for chain, part in zip(chains, parts, strict=True):
                chain[0] = part["head"]
                chain[1] += len(part["latencies"])
        server_s, sys_s, db_s = cpu_delta(before, after)
        latencies = sorted(x for p in parts for x in p["latencies"])
        errors = [e for p in parts for e in p["errors"]]
        done = len(latencies) + len(errors)
        elapsed = max(p["last"] for p in parts) - min(p["first"] for p in parts)
        late = max(p["first"] for p in parts) - start_at
        return {
            "iterations": done,
            "requests": done * load.REQUESTS_PER_ITERATION.get(scenario, 1),
            "elapsed_s": elapsed,
            "rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
            "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
            "cpu_ms": 1000 * server_s / done if done else None,
            "sys_ms": 1000 * sys_s / done if done else None,
            "machine_ms": 1000 * busy_s / done if done else None,
            "stolen_ms": 1000 * stolen_s / done if done else None,
            "db_cpu_ms": 1000 * db_s / done if done and server.db.kind == "postgres" else None,
            "errors": len(errors),
            "error_samples": errors[:3],
            "late_start_s": late,
            "ran_out": load.SCENARIOS[scenario][1] == load.SPEND and bool(items) and done >= len(items),
            **({"chain_depth": max(chain[1] for chain in chains)} if scenario == "refresh_chain" else {}),
        }

    def run(self, scenarios, rounds):
        runs = {p: {s: [] for s in scenarios} for p in self.products}
        order = list(self.products)
        print(f"[bench] warm-up: {len(order)} products x {len(scenarios)} scenarios", flush=True)
        for scenario in scenarios:
            for product in order:
                if scenario == "floor" and product != "floor" or scenario != "floor" and product == "floor":
                    continue
                if not self.available(product, scenario):
                    continue
                result = self.window(product, scenario, 0, self.args.warmup)
                if result["errors"] and all(" -> 404" in e for e in result["error_samples"]):
                    self.skipped[(product, scenario)] = "not yet available (404)"
                elif result["errors"]:
                    print(f"[bench] {product}/{scenario} warm-up errors: {result['error_samples']}", flush=True)
        for r in range(1, rounds + 1):
            rotated = order[r % len(order) :] + order[: r % len(order)]  # no product always goes first
            for scenario in scenarios:
                for product in rotated:
                    if (scenario == "floor") != (product == "floor") or not self.available(product, scenario):
                        continue
                    result = self.window(product, scenario, r, self.args.duration)
                    runs[product][scenario].append(result)
                    print(
                        f"[bench] round {r} {scenario:18} {product:12} {result['rps']:8.1f}/s "
                        f"cpu {fmt(result['cpu_ms'])} ms (sys {fmt(result['sys_ms'])}) "
                        f"db {fmt(result['db_cpu_ms'])} ms machine {fmt(result['machine_ms'])} ms "
                        f"(stolen {fmt(result['stolen_ms'])}) "
                        f"p50 {fmt(result['p50_ms'])} p99 {fmt(result['p99_ms'])} err {result['errors']}"
                        + (" (pool ran out)" if result["ran_out"] else ""),
                        flush=True,
                    )
                    if result["errors"]:
                        print(f"          {result['error_samples']}", flush=True)
        return runs

    def close(self):
        self.pool.shutdown()


def fmt(x):
    return "-" if x is None else f"{x:.2f}"


def summarize(runs, skipped):
    """Medians over rounds, per product and scenario."""
    out = {}
    for product, by_scenario in runs.items():
        for scenario, windows in by_scenario.items():
            if not windows:
                why = skipped.get((product, scenario))
                if why:
                    out.setdefault(product, {})[scenario] = {"skipped": why}
                continue

            def med(key, windows=windows):
                values = [w[key] for w in windows if w[key] is not None]
                return statistics.median(values) if values else None

            out.setdefault(product, {})[scenario] = {
                "rps": med("rps"),
                "p50_ms": med("p50_ms"),
                "p99_ms": med("p99_ms"),
                "cpu_ms": med("cpu_ms"),
                "sys_ms": med("sys_ms"),
                "machine_ms": med("machine_ms"),
                "stolen_ms": med("stolen_ms"),
                "db_cpu_ms": med("db_cpu_ms"),
                "errors": sum(w["errors"] for w in windows),
                "requests": sum(w["requests"] for w in windows),
                "rounds": len(windows),
                "cpu_ms_rounds": [round(w["cpu_ms"], 3) for w in windows if w["cpu_ms"] is not None],
                "rps_rounds": [round(w["rps"], 1) for w in windows],
                **(
                    {"chain_depth": max(w["chain_depth"] for w in windows)}
                    if any("chain_depth" in w for w in windows)
                    else {}
                ),
            }
    return out


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "-C", str(envs.ROOT), "log", "-1", "--format=%h", "--", "oidc_provider"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "oidc_provider_commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": Path("/proc/loadavg").read_text().split()[:3],
    }


def signatures():
    out = subprocess.run(
        [str(envs.python("ours")), str(envs.BENCH / "signatures.py")], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def save(kind, data):
    results = Path(data["settings"].get("results") or RESULTS)
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    text = json.dumps(data, indent=1, default=str)
    (results / f"{kind}-{stamp}.json").write_text(text)
    (results / f"latest-{kind}.json").write_text(text)


def start_servers(args, workdir, specs, pool):
    """specs: [(server name, peer, setup args)] -> {name: Server}, set up and started."""
    servers = {}
    try:
        for name, peer, extra in specs:
            kind = NodeServer if peer == "node" else Server
            server = kind(name, peer, Database(args.db, name, workdir), workdir, workers=args.workers)
            print(f"[bench] setting up {name} ({args.db})", flush=True)
            took = server.setup(pool, *extra)
            print(f"[bench] {name} set up in {took:.0f}s", flush=True)
            servers[name] = server
        floor_bytes = next((s.fixture["discovery_bytes"] for s in servers.values() if s.peer == "ours"), None)
        for server in servers.values():
            server.start(floor_bytes=floor_bytes if server.peer == "ours" else None)
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def main_compare(args, workdir):
    names = {PRODUCTS[p][0] for p in args.products}
    pool = args.pool * (args.rounds + 1)
    servers = start_servers(args, workdir, [(n, n, []) for n in ["ours", "dot", "dop", "node"] if n in names], pool)
    products = {p: PRODUCTS[p] for p in args.products}
    scenarios = list(args.scenarios)
    if "ours" in servers and not args.no_floor:
        products["floor"] = ("ours", "default")
        scenarios.insert(0, "floor")
    bench = Bench(args, servers, products)
    try:
        runs = bench.run(scenarios, args.rounds)
    finally:
        bench.close()
        for server in servers.values():
            server.stop()
    data = {
        "mode": "compare",
        "db": args.db,
        "argv": sys.argv[1:],
        "machine": machine(),
        "settings": vars(args),
        "versions": {n: envs.versions(servers[n].venv) for n in servers},
        "signatures": signatures(),
        "summary": summarize(runs, bench.skipped),
        "runs": runs,
        "discovery_bytes": {n: s.fixture["discovery_bytes"] for n, s in servers.items()},
    }
    save(f"compare-{args.db}", data)
    return data


def main_growth(args, workdir):
    pool = args.pool * (args.rounds + 1)
    servers = start_servers(args, workdir, [("ours-empty", "ours", []), ("ours-grown", "ours", ["--grow"])], pool)
    products = {"ours-empty": ("ours-empty", "default"), "ours-grown": ("ours-grown", "default")}
    bench = Bench(args, servers, products)
    try:
        runs = bench.run(list(args.scenarios), args.rounds)
    finally:
        bench.close()
        for server in servers.values():
            server.stop()
    data = {
        "mode": "growth",
        "db": args.db,
        "argv": sys.argv[1:],
        "machine": machine(),
        "settings": vars(args),
        "summary": summarize(runs, bench.skipped),
        "runs": runs,
    }
    save(f"growth-{args.db}", data)
    return data


def main_memory(args, workdir):
    """One worker, the ``mix`` scenario (full flow, userinfo, discovery, JWKS) until ``args.memory``
    requests; the worker's RSS after a warm-up and then every tenth of the way."""
    args.workers = 1
    servers = start_servers(args, workdir, [("ours-memory", "ours", [])], 1)
    bench = Bench(args, servers, {"ours": ("ours-memory", "default")})
    server = servers["ours-memory"]
    pid = server.worker_pids()[0]
    samples = []
    try:
        bench.window("ours", "mix", 0, 0, max_iterations=400)  # warm-up: 2,000 requests
        samples.append({"requests": 0, "rss_kib": rss_kib(pid)})
        step = args.memory // 10
        while samples[-1]["requests"] < args.memory:
            result = bench.window("ours", "mix", 0, 0, max_iterations=step // load.REQUESTS_PER_ITERATION["mix"])
            samples.append(
                {
                    "requests": samples[-1]["requests"] + result["requests"],
                    "rss_kib": rss_kib(pid),
                    "cpu_ms_per_request": result["cpu_ms"] / load.REQUESTS_PER_ITERATION["mix"],
                    "errors": result["errors"],
                }
            )
            print(f"[bench] memory: {samples[-1]}", flush=True)
            if server.worker_pids() != [pid]:
                raise RuntimeError("the worker was replaced during the memory check")
    finally:
        bench.close()
        server.stop()
    data = {
        "mode": "memory",
        "db": args.db,
        "argv": sys.argv[1:],
        "machine": machine(),
        "settings": vars(args),
        "samples": samples,
    }
    save(f"memory-{args.db}", data)
    return data


def main_profile(args, workdir):
    """cProfile (CPU time) inside one gunicorn worker for the token, full-flow and userinfo scenarios."""
    args.workers = 1
    out = {}
    for scenario in ("token", "flow", "userinfo"):
        prof = workdir / f"profile-{scenario}.pstats"
        specs = [(f"ours-profile-{scenario}", "ours", [])]
        server = Server(
            specs[0][0],
            "ours",
            Database(args.db, specs[0][0], workdir),
            workdir,
            workers=1,
            env={"BENCH_PROFILE": str(prof)},
        )
        server.setup(args.pool * 2)
        server.start()
        bench = Bench(args, {server.name: server}, {"ours": (server.name, "default")})
        try:
            bench.window("ours", scenario, 0, args.warmup)  # not profiled: first requests build the server
            load.Client(load.Job(server.port, "discovery", server.fixture, "default", 0, 0)).call(
                "GET", "/__profile__/start"
            )
            result = bench.window("ours", scenario, 1, args.duration * 2)
            load.Client(load.Job(server.port, "discovery", server.fixture, "default", 0, 0)).call(
                "GET", "/__profile__/stop"
            )
        finally:
            bench.close()
            server.stop()
        text = subprocess.run(
            [
                str(envs.python("ours")),
                str(envs.BENCH / "peers" / "profile_wsgi.py"),
                str(prof),
                str(result["iterations"]),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        out[scenario] = {"iterations": result["iterations"], "cpu_ms": result["cpu_ms"], "top": text}
        print(text, flush=True)
    queries = subprocess.run(
        [str(envs.python("ours")), str(envs.BENCH / "peers" / "ours" / "queries.py"), str(server.fixture_path)],
        cwd=envs.BENCH / "peers" / "ours",
        env=server.env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(queries, flush=True)
    data = {"mode": "profile", "db": args.db, "machine": machine(), "profiles": out, "queries": queries}
    save(f"profile-{args.db}", data)
    return data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db", choices=["postgres", "sqlite", "both"], default="postgres", help="both: PostgreSQL, then SQLite"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (A B C A B C ...)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measurement window")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per product and scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--clients", type=int, default=4, help="load-generator processes (one connection each)")
    parser.add_argument("--pool", type=int, default=3000, help="pre-minted codes/refresh tokens per window")
    parser.add_argument("--products", nargs="+", default=list(PRODUCTS), choices=list(PRODUCTS))
    parser.add_argument("--scenarios", nargs="+", default=SCENARIOS, choices=SCENARIOS + list(load.DIAGNOSTIC))
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument(
        "--live-tokens", type=int, default=10000, help="live access tokens for userinfo_many, introspection_many"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--growth", action="store_true", help="ours on an empty vs a grown database")
    mode.add_argument("--memory", type=int, metavar="N", help="one worker's RSS over N requests")
    mode.add_argument("--profile", action="store_true", help="cProfile one worker (token, full flow, userinfo)")
    mode.add_argument("--report", action="store_true", help="only rebuild docs/benchmark.md")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite docs/benchmark.md")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="prove the run works: one tiny round, results in a temporary directory, no report (figures meaningless)",
    )
    args = parser.parse_args(argv)
    args.results = None
    if args.dry_run:
        args.rounds, args.duration, args.warmup, args.pool, args.live_tokens = 1, 0.5, 0.3, 40, 50
        args.no_report = True
    return args


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    args = parse_args()
    if not args.report:
        for name in {"ours", "dot", "dop"}:
            envs.ensure(name)
        if "node" in args.products:
            why = envs.ensure_node()
            if why:
                print(f"[bench] node-oidc-provider left out: {why}", flush=True)
                args.products.remove("node")
        os.environ["BENCH_LIVE_TOKENS"] = str(args.live_tokens)  # read by every peer's setup
        workdir = Path(tempfile.mkdtemp(prefix="bench-"))
        if args.dry_run:
            args.results = str(workdir / "results")
        for db in ("postgres", "sqlite") if args.db == "both" else (args.db,):
            args.db = db
            if args.growth:
                main_growth(args, workdir)
            elif args.memory:
                main_memory(args, workdir)
            elif args.profile:
                main_profile(args, workdir)
            else:
                main_compare(args, workdir)
    if args.dry_run:
        print(f"[bench] dry run done; its results (figures meaningless) are in {args.results}")
    elif not args.no_report:
        path = report.write(RESULTS, envs.ROOT / "docs" / "benchmark.md")
        print(f"[bench] wrote {path}")


if __name__ == "__main__":
    main()
