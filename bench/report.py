"""docs/benchmark.md from the latest JSON results in bench/results/."""

import json
from pathlib import Path

from load import DIAGNOSTIC

NAMES = {
    "ours": "ours",
    "dot-hashed": "DOT (hashed secrets)",
    "dot-plain": "DOT (plain secrets)",
    "dop": "django-oidc-provider",
    "node": "node-oidc-provider",
    "floor": "floor",
}
LABELS = {
    "floor": "floor: bare Django JSON view",
    "discovery": "discovery",
    "jwks": "JWKS",
    "token": "token (redeem a pre-minted code)",
    "flow": "full code flow (authorize + token)",
    "authorize": "authorization request alone (a diagnostic, no target)",
    "userinfo": "userinfo",
    "userinfo_many": "userinfo over many live tokens",
    "introspection": "introspection",
    "introspection_many": "introspection over many live tokens",
    "refresh": "refresh (a pre-minted token per request)",
    "refresh_chain": "refresh (each client rotating its own chain)",
    "client_credentials": "client credentials",
}
ORDER = list(LABELS)
CLIENT_AUTH = {"token", "flow", "introspection", "introspection_many", "refresh", "refresh_chain", "client_credentials"}
# issue 20: against django-oidc-provider in the same run, on each database
THROUGHPUT_RATIO, CPU_RATIO = 1.2, 0.8
PEERS = ["ours", "dot-hashed", "dot-plain", "dop", "node"]
# issue 20's stretch: ours' CPU per request at most this many times node-oidc-provider's
NODE_STRETCH = {"token": 2.0, "userinfo": 4.0}


def _load(results, name):
    path = results / f"latest-{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _num(x, digits=1):
    if x is None:
        return "–"
    return x if isinstance(x, str) else f"{x:,.{digits}f}"


def _cell(entry, key, digits=1):
    if entry is None:
        return ""
    if "skipped" in entry:
        return "n/a"
    return _num(entry.get(key), digits)


def _table(summary, key, digits, scenarios):
    columns = [p for p in PEERS if p in summary]
    lines = ["| scenario | " + " | ".join(NAMES[p] for p in columns) + " |", "|---|" + "---:|" * len(columns)]
    for scenario in scenarios:
        if scenario == "floor":
            continue
        lines.append(
            f"| {LABELS[scenario]} | "
            + " | ".join(_cell(summary[p].get(scenario), key, digits) for p in columns)
            + " |"
        )
    if "floor" in summary:
        lines.append(
            f"| *{LABELS['floor']}* | "
            + " | ".join([_cell(summary["floor"].get("floor"), key, digits)] + [""] * (len(columns) - 1))
            + " |"
        )
    return lines


def _targets(data):
    s = data["summary"]
    ours = s.get("ours", {})
    rows = []

    def get(product, scenario, key):
        entry = s.get(product, {}).get(scenario) or {}
        return entry.get(key)

    for scenario, entry in ours.items():
        if scenario in DIAGNOSTIC:
            continue
        if "skipped" in entry:
            rows.append((f"{LABELS[scenario]}: throughput ≥ better peer", "–", entry["skipped"]))
            continue
        peers = [get(p, scenario, "rps") for p in ("dot-plain", "dot-hashed", "dop")]
        best = max((x for x in peers if x), default=None)
        if best:
            ok = entry["rps"] >= best
            rows.append(
                (
                    f"{LABELS[scenario]}: throughput ≥ better peer",
                    f"{entry['rps']:,.0f} vs {best:,.0f} req/s",
                    "met" if ok else "**missed**",
                )
            )
        hashed = get("dot-hashed", scenario, "rps")
        if scenario in CLIENT_AUTH and hashed:
            ok = entry["rps"] >= 10 * hashed
            rows.append(
                (
                    f"{LABELS[scenario]}: ≥ 10× DOT with hashed secrets",
                    f"{entry['rps'] / hashed:,.1f}×",
                    "met" if ok else "**missed**",
                )
            )
    for scenario, limit in (("token", 3.0), ("flow", 6.0)):
        cpu, dop = get("ours", scenario, "cpu_ms"), get("dop", scenario, "cpu_ms")
        if cpu is not None:
            # the issue's limits were set where django-oidc-provider redeems a code in ~3.8 ms: its
            # figure from this run says how this machine compares
            scale = f" (django-oidc-provider {dop:.2f})" if dop else ""
            rows.append(
                (
                    f"{LABELS[scenario]}: server CPU ≤ {limit:g} ms",
                    f"{cpu:.2f} ms{scale}",
                    "met" if cpu <= limit else "**missed**",
                )
            )
    floor, floor_cpu = get("floor", "floor", "rps"), get("floor", "floor", "cpu_ms")
    for scenario in ("discovery", "jwks"):
        rps, cpu = get("ours", scenario, "rps"), get("ours", scenario, "cpu_ms")
        if floor and rps:
            rows.append(
                (
                    f"{LABELS[scenario]}: ≥ 80% of the floor's throughput",
                    f"{100 * rps / floor:.0f}% (CPU {cpu:.2f} vs {floor_cpu:.2f} ms)",
                    "met" if rps >= 0.8 * floor else "**missed**",
                )
            )
    lines = ["| target | measured | |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    ran_out = sorted(
        {
            f"{LABELS[sc]} ({NAMES[p]})"
            for p, scenarios in data.get("runs", {}).items()
            for sc, rounds in scenarios.items()
            if any(r.get("ran_out") for r in rounds)
        }
    )
    if ran_out:
        lines += [
            "",
            "In some rounds the pool of pre-minted codes or refresh tokens ran out before the window ended, "
            f"capping that throughput (`--pool`; compare the CPU figures): {', '.join(ran_out)}.",
        ]
    return lines


def _recorded_table(summary, key, heading, scenarios):
    """A table of ``key`` under ``heading``, for runs that recorded it (older results have no such key)."""
    if not any(key in e for v in summary.values() for e in v.values()):
        return []
    return [f"### {heading}", "", *_table(summary, key, 2, scenarios), ""]


def _compare_section(data, title):
    s = data["summary"]
    scenarios = [sc for sc in ORDER if any(sc in v for v in s.values())]
    m = data["machine"]
    total = sum(e.get("requests", 0) for v in s.values() for e in v.values())
    errors = sum(e.get("errors", 0) for v in s.values() for e in v.values())
    st = data["settings"]
    out = [
        f"## {title}",
        "",
        f"Run of {m['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, Linux {m['kernel']}; "
        f"{st['workers']} gunicorn sync workers per server, {st['clients']} client processes, "
        f"{st['rounds']} interleaved rounds of {st['duration']:g} s per scenario and product. "
        f"{total:,} measured requests, **{errors} errors**.",
        "",
        "Command: `python3 bench/run.py "
        + " ".join(data["argv"])
        + "`"
        + (f"; `oidc_provider/` as of commit {m['oidc_provider_commit']}." if m.get("oidc_provider_commit") else "."),
        "",
        "Versions: "
        + "; ".join(f"{k}: " + ", ".join(f"{p} {v}" for p, v in vs.items()) for k, vs in data["versions"].items()),
        "",
        "### Targets (issue 6: throughput against the better peer, absolute CPU limits)",
        "",
        *_targets(data),
        "",
        "### Server CPU per request (ms, median of rounds; the robust figure)",
        "",
        *_table(s, "cpu_ms", 2, scenarios),
        "",
        *_recorded_table(
            s,
            "sys_ms",
            "Of which the kernel (ms of the CPU above, the workers' stime: system calls, file locks, socket and "
            "WAL writes)",
            scenarios,
        ),
        *_recorded_table(
            s,
            "machine_ms",
            "The whole machine's CPU per request (ms: the server, its database with its background processes, the "
            "load generator and the kernel; each busy core serves 1,000 ms of it per second)",
            scenarios,
        ),
        "### Throughput (requests/s, median of rounds; a full flow counts once)",
        "",
        *_table(s, "rps", 0, scenarios),
        "",
        "### Latency p50 / p99 (ms, median of rounds)",
        "",
        *_table(
            {
                p: {
                    k: ({**e, "lat": f"{_num(e.get('p50_ms'))} / {_num(e.get('p99_ms'))}"} if "skipped" not in e else e)
                    for k, e in v.items()
                }
                for p, v in s.items()
            },
            "lat",
            0,
            scenarios,
        ),
        "",
    ]
    if data["db"] == "postgres":
        out += [
            "### Database CPU per request (ms, PostgreSQL backends of the server's database)",
            "",
            *_table(s, "db_cpu_ms", 2, scenarios),
            "",
        ]
    skipped = sorted({e["skipped"] for v in s.values() for e in v.values() if "skipped" in e})
    if skipped:
        out += [
            "n/a: " + "; ".join(f"ours, {sc}: {e['skipped']}" for sc, e in s.get("ours", {}).items() if "skipped" in e),
            "",
        ]
    sig = data["signatures"]
    out += [
        f"One signature (cryptojwt, in-process, best of 5×300): RS256 {sig['RS256_ms']:.3f} ms, "
        f"ES256 {sig['ES256_ms']:.3f} ms. Discovery documents: "
        + ", ".join(f"{k} {v:,} bytes" for k, v in data["discovery_bytes"].items())
        + ".",
        "",
    ]
    return out


def _ratio_cells(data, scenario):
    """(throughput ratio, CPU ratio, passed?) of ours over django-oidc-provider, or None."""
    s = data["summary"]
    ours, dop = s.get("ours", {}).get(scenario), s.get("dop", {}).get(scenario)
    if not ours or not dop or "skipped" in ours or "skipped" in dop or not dop.get("rps") or not dop.get("cpu_ms"):
        return None
    rps, cpu = ours["rps"] / dop["rps"], ours["cpu_ms"] / dop["cpu_ms"]
    return rps, cpu, rps >= THROUGHPUT_RATIO and cpu <= CPU_RATIO


def _issue20_section(datasets):
    """One table over both databases: ours ÷ django-oidc-provider per scenario, against the targets."""
    if not datasets:
        return []
    head = "| scenario | " + " | ".join(
        f"{title}: throughput ÷ dop | {title}: CPU ÷ dop | {title}" for title, _ in datasets
    )
    lines = [
        f"## Targets against django-oidc-provider (issue 20: throughput ≥ {THROUGHPUT_RATIO:g}×, "
        f"CPU per request ≤ {CPU_RATIO:g}×, on each database)",
        "",
        "Ours divided by django-oidc-provider's median of the same run (each database's run is its own); "
        "a scenario passes when both ratios meet their target.",
        "",
        head + " |",
        "|---|" + "---:|---:|---|" * len(datasets),
    ]
    for scenario in ORDER:
        if scenario in ("floor", *DIAGNOSTIC) or not any(scenario in d["summary"].get("ours", {}) for _, d in datasets):
            continue
        cells = []
        for _, data in datasets:
            got = _ratio_cells(data, scenario)
            if got is None:
                cells += ["–", "–", "n/a"]
            else:
                rps, cpu, ok = got
                cells += [f"{rps:.2f}×", f"{cpu:.2f}×", "pass" if ok else "**fail**"]
        lines.append(f"| {LABELS[scenario]} | " + " | ".join(cells) + " |")
    depths = [
        f"{title} {d['summary']['ours']['refresh_chain']['chain_depth']:,}"
        for title, d in datasets
        if "chain_depth" in d["summary"].get("ours", {}).get("refresh_chain", {})
    ]
    if depths:
        lines += ["", "Deepest refresh chain of ours at the end of the run (rotations): " + ", ".join(depths) + "."]
    stretch = []
    for title, data in datasets:
        s = data["summary"]
        for scenario, limit in NODE_STRETCH.items():
            ours, node = s.get("ours", {}).get(scenario, {}), s.get("node", {}).get(scenario, {})
            if ours.get("cpu_ms") and node.get("cpu_ms"):
                ratio = ours["cpu_ms"] / node["cpu_ms"]
                verdict = "pass" if ratio <= limit else "**fail**"
                stretch.append(f"| {title} | {LABELS[scenario]} | ≤ {limit:g}× | {ratio:.1f}× | {verdict} |")
    if stretch:
        lines += [
            "",
            "Stretch, against node-oidc-provider (one process with its adapter in memory: compare CPU per request, "
            "not throughput):",
            "",
            "| database | scenario | ours ÷ node CPU target | measured | |",
            "|---|---|---:|---:|---|",
            *stretch,
        ]
    return lines + [""]


def _growth_section(data):
    s = data["summary"]
    out = [
        "## Growth: 100,000 grants and 10,000 clients",
        "",
        f"Run of {data['machine']['date']}, command `python3 bench/run.py {' '.join(data['argv'])}`. Our OP on an "
        "empty database and on one holding 10,000 more clients and 10,000 more users with 10 client sessions and "
        "10 grants each (100,000 grants, 210,000 session rows, bulk-inserted with COPY), interleaved. Target: every "
        "figure within 10%.",
        "",
        "| scenario | server CPU ms, empty → grown | Δ | database CPU ms, empty → grown | Δ "
        "| req/s, empty → grown | Δ |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def delta(a, b):
        if not a or b is None:
            return "–"
        change = round(100 * (b / a - 1))
        return f"{change:+d}%" if change else "0%"

    for scenario, empty in s.get("ours-empty", {}).items():
        grown = s.get("ours-grown", {}).get(scenario, {})
        if "skipped" in empty or "skipped" in grown:
            continue
        out.append(
            f"| {LABELS[scenario]} | {empty['cpu_ms']:.2f} → {grown['cpu_ms']:.2f} | "
            f"{delta(empty['cpu_ms'], grown['cpu_ms'])} | {_num(empty['db_cpu_ms'], 2)} → "
            f"{_num(grown['db_cpu_ms'], 2)} | {delta(empty['db_cpu_ms'], grown['db_cpu_ms'])} | "
            f"{empty['rps']:,.0f} → {grown['rps']:,.0f} | {delta(empty['rps'], grown['rps'])} |"
        )
    return out + [
        "",
        "Database CPU is counted in ticks of 10 ms over a window, so small figures are coarse; "
        "throughput on a shared machine moves by ±20% between rounds, CPU per request much less.",
        "",
    ]


def _memory_section(data):
    samples = data["samples"]
    first, last = samples[0], samples[-1]
    change = 100 * (last["rss_kib"] / first["rss_kib"] - 1)
    out = [
        "## Memory: one worker over many requests",
        "",
        f"Run of {data['machine']['date']}, command `python3 bench/run.py {' '.join(data['argv'])}`. One gunicorn "
        "worker; each iteration is a full code flow, userinfo, discovery and JWKS (5 requests). RSS after a "
        f"2,000-request warm-up: {first['rss_kib'] / 1024:.1f} MiB; after {last['requests']:,} more requests: "
        f"{last['rss_kib'] / 1024:.1f} MiB (**{change:+.1f}%**, target ±10%). Every flow adds a grant for the "
        f"user of its client process, so by the end each of those users holds about "
        f"{last['requests'] // 5 // data.get('settings', {}).get('clients', 4):,} grants with the benchmark "
        "client. No request reads a user's other grants (`tests/protocol/test_statements.py`), and in-process a "
        "flow for a user holding 2,000 grants costs the same CPU as one for a new user; the CPU column moves with "
        "the load on the shared machine.",
        "",
        "| requests | RSS (MiB) | CPU ms per request in the step | errors |",
        "|---:|---:|---:|---:|",
    ]
    for row in samples:
        out.append(
            f"| {row['requests']:,} | {row['rss_kib'] / 1024:.1f} | {_num(row.get('cpu_ms_per_request'), 2)} | "
            f"{row.get('errors', 0)} |"
        )
    return out + [""]


def _profile_section(data):
    out = [
        "## Profile of one worker (cProfile)",
        "",
        f"Run of {data['machine']['date']}, command `python3 bench/run.py --profile`. One worker, cProfile on "
        "(CPU-time clock) for the measured window only; its overhead roughly doubles the times, so read the "
        "proportions. The SQL listing shows the statements one request costs.",
        "",
    ]
    for scenario, entry in data["profiles"].items():
        out += [f"### {LABELS[scenario]}", "", "```", entry["top"], "```", ""]
    if data.get("queries"):
        out += [
            "### SQL statements per request (in-process, Django test client)",
            "",
            "```",
            data["queries"].strip(),
            "```",
            "",
        ]
    return out


METHOD = """## Method

- **Same everything.** Each product is a minimal Django 5.2 project under `bench/peers/<name>/` with the same
  settings (the `startproject` middleware, `DEBUG=False`, persistent database connections `CONN_MAX_AGE=600`),
  served by the same gunicorn (sync workers, same count), on the same PostgreSQL server (one database each), on the
  same machine, in its own virtualenv (`bench/.venvs/`). Rounds are interleaved (A B C D, B C D A, …) so a burst of
  load from other work on the machine hits every product alike.
- **Server CPU per request** is the difference of utime+stime (`/proc/<pid>/stat`) of all worker processes before
  and after a window, divided by the requests of the window; the same for the PostgreSQL backends serving the
  product's database ("database CPU"). CPU time does not depend on how many other processes share the cores, so it
  is the figure to compare on a shared machine; throughput and latency depend on it and are medians of rounds.
- **Load**: separate client processes (standard library `http.client`), one connection each, closed loop, loopback
  only, each window bounded in time and, for spending scenarios, by the pre-minted items it was given. gunicorn's
  sync workers close the connection after every response, so every request opens a connection, for every product
  alike. Latency includes the queueing of the clients (`--clients`: 8 in the issue-20 run) on 2 workers. Any status
  other than 200 (302 for the authorization request) or a body without the expected member (`access_token`,
  `"active":true`, `sub`, …) counts as an error.
- **Pre-minted items**, the way each product stores them: ours mints codes through its authorization endpoint with a
  logged-in session (in-process, Django test client) and refresh tokens through its token endpoint; DOT's `Grant`,
  `AccessToken` and `RefreshToken` rows and django-oidc-provider's `Code` and `Token` rows are made with the products'
  own models and helpers (`bulk_create` runs DOT's checksum field hooks). Codes are spread over 100 users. All codes use
  PKCE S256; code lifetimes are raised to an hour so pre-minted codes outlive the run.
- **Clients**: one confidential client per product with `client_secret_basic`, one redirect URI, RS256 ID tokens,
  consent skipped (ours `createclient --skip-consent`, DOT `skip_authorization`, django-oidc-provider
  `require_consent=False`). DOT runs twice on the same server: with its default hashed secrets (Django's PBKDF2,
  1,000,000 rounds per client authentication) and with `hash_client_secret=False`; client credentials use a second
  DOT application (DOT allows one grant type per application). Scopes: `openid profile email`; each product releases
  the same profile and email claims.
- **Floor**: a bare Django view in our peer project returning JSON of the size of our discovery document, under the
  same server; and one RS256 and one ES256 signature with cryptojwt, timed in-process.
- **Not yet available** (n/a): a scenario our OP cannot serve yet (no endpoint in discovery, grant type not offered,
  or a 404 in the warm-up) is skipped, and starts being measured when the feature lands.
- **SQLite** (`--db sqlite`, WAL with `synchronous=NORMAL`, `IMMEDIATE` transactions, 20 s busy timeout, persistent
  connections as on PostgreSQL): writers from the two workers queue on the database lock and sleep in the busy
  handler, which leaves CPU idle and lowers throughput without raising CPU per request; compare CPU figures, and
  take throughput on SQLite as a single-writer figure.
- **node-oidc-provider** (`bench/peers/node/server.mjs`, `npm install`ed at bench time) runs as one node process
  with an in-memory adapter (a plain `Map`: the stock memory adapter is an LRU of 1,000 entries, which would evict
  the pre-minted items), pre-minting codes, refresh and access tokens with its own models before it listens. It
  has no database, so it is the same on both database runs, and one process against the others' two workers:
  compare its CPU per request, not its throughput. The full flow is not measured for it (its login session lives
  in its own cookie format). Its refresh tokens rotate on every use (`rotateRefreshToken: true`), as the others'.
- **Ours** runs with `CLIENT_CACHE_TTL` 5 (client rows reused per worker for up to 5 s; off by default, see
  `docs/speed-rewrites.md`); `BENCH_CLIENT_CACHE_TTL=0` runs it without.
- django-oidc-provider 0.9.0 is run with its defaults (discovery cache off); its client secrets are stored and
  compared in plain text.
"""


def write(results: Path, target: Path) -> Path:
    findings = results.parent / "FINDINGS.md"
    parts = [
        "# Benchmark",
        "",
        "Our OP against [django-oauth-toolkit](https://github.com/jazzband/django-oauth-toolkit) with OIDC enabled "
        "and [django-oidc-provider](https://github.com/juanifioren/django-oidc-provider) (and, since issue 20, "
        "[node-oidc-provider](https://github.com/panva/node-oidc-provider) when node is installed), side by side "
        "in one "
        "interleaved run on one machine. The benchmark lives in `bench/` (see `bench/README.md`); it is not part "
        "of the test suite. Reproduce the figures below with the command given in each section.",
        "",
    ]
    datasets = [
        (title, data)
        for name, title in (("compare-postgres", "PostgreSQL"), ("compare-sqlite", "SQLite-WAL"))
        if (data := _load(results, name))
    ]
    parts += _issue20_section(datasets)
    for title, data in datasets:
        parts += _compare_section(data, title)
    for name, section in (
        ("growth-postgres", _growth_section),
        ("memory-postgres", _memory_section),
        ("profile-postgres", _profile_section),
    ):
        data = _load(results, name)
        if data:
            parts += section(data)
    if findings.exists():
        parts += [findings.read_text().strip(), ""]
    parts.append(METHOD)
    target.write_text("\n".join(parts))
    return target
