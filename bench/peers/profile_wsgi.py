"""cProfile (CPU time) inside a gunicorn worker, switched on and off by ``GET /__profile__/start|stop``
(stop writes the stats to ``$BENCH_PROFILE``). Run as a script to print the hotspots:

    python profile_wsgi.py STATS ITERATIONS
"""

import cProfile
import pstats
import sys
import sysconfig
import time


class ProfiledApplication:
    def __init__(self, app, path):
        self.app, self.path, self.profile = app, path, None

    def __call__(self, environ, start_response):
        route = environ.get("PATH_INFO", "")
        if route == "/__profile__/start":
            self.profile = cProfile.Profile(time.process_time)  # CPU time, as the benchmark's figure
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"started"]
        if route == "/__profile__/stop":
            self.profile.dump_stats(self.path)
            self.profile = None
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"stopped"]
        if self.profile is None:
            return self.app(environ, start_response)
        self.profile.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            self.profile.disable()


OURS = ("oidc_provider/", "idpyoidc/")


STDLIB = sysconfig.get_paths()["stdlib"].rstrip("/") + "/"


def _short(file):
    """A profiled file as a path inside its package (no machine's directories in the report)."""
    if file.startswith(STDLIB):
        return "<stdlib>/" + file[len(STDLIB) :]
    return file.split("site-packages/")[-1].split("wt-bench/")[-1]


def hotspots(path, iterations, limit=10):
    """Per iteration: the top ``limit`` functions of our code and idpyoidc by cumulative time (the
    view entry points left out), the share of the Django ORM, and the top of everything by own time."""
    stats = pstats.Stats(path)
    per = 1000 / iterations
    rows = [(ct, tt, nc, file, line, func) for (file, line, func), (cc, nc, tt, ct, callers) in stats.stats.items()]
    lines = [
        f"profiled {iterations} iterations: {stats.total_tt * per:.2f} ms of CPU per iteration under cProfile "
        "(its overhead inflates call-heavy code; read the proportions)"
    ]
    sql = [r for r in rows if r[3].endswith("django/db/models/sql/compiler.py") and r[5] == "execute_sql"]
    if sql:
        ct, _, nc = sql[0][:3]
        lines.append(
            f"Django ORM statements: {nc / iterations:.1f} per iteration, {ct * per:.2f} ms "
            f"({100 * ct / stats.total_tt:.0f}% of the profiled time) in SQLCompiler.execute_sql"
        )
    lines += ["", "cumulative, our code and idpyoidc (ms per iteration, calls per iteration):"]
    ours = sorted(
        (
            r
            for r in rows
            if any(k in r[3] for k in OURS)
            and not (r[3].endswith("views/base.py") and r[5] in ("post", "get", "handle"))
            and not (r[3].endswith("views/authorization.py") and r[5] in ("get", "authorize"))
        ),
        reverse=True,
    )
    for ct, _tt, nc, file, line, func in ours[:limit]:
        lines.append(f"  {ct * per:7.2f} ms  {nc / iterations:5.1f}x  {_short(file)}:{line} {func}")
    lines += ["", "own time, everything (ms per iteration):"]
    for _ct, tt, nc, file, line, func in sorted(rows, key=lambda r: r[1], reverse=True)[:limit]:
        lines.append(f"  {tt * per:7.2f} ms  {nc / iterations:5.1f}x  {_short(file)}:{line} {func}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(hotspots(sys.argv[1], int(sys.argv[2])))
