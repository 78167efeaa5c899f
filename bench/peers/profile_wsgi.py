"""cProfile inside a gunicorn worker, switched on and off by ``GET /__profile__/start|stop``
(stop writes the stats to ``$BENCH_PROFILE``). Run as a script to print the hotspots:

    python profile_wsgi.py STATS ITERATIONS
"""

import cProfile
import pstats
import sys


class ProfiledApplication:
    def __init__(self, app, path):
        self.app, self.path, self.profile = app, path, None

    def __call__(self, environ, start_response):
        route = environ.get("PATH_INFO", "")
        if route == "/__profile__/start":
            self.profile = cProfile.Profile()
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


def hotspots(path, iterations, limit=10):
    """The top ``limit`` functions of our code and idpyoidc by cumulative time, per iteration, and
    the top of everything by own time."""
    stats = pstats.Stats(path)
    total = stats.total_tt
    rows = []
    for (file, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        rows.append((ct, tt, nc, file, line, func))
    lines = [f"profiled {iterations} iterations, {1000 * total / iterations:.2f} ms profiled time per iteration "
             "(cProfile overhead included)", "", "cumulative, our code and idpyoidc (ms per iteration, calls per iteration):"]
    ours = sorted((r for r in rows if any(k in r[3] for k in OURS)), reverse=True)
    # skip the thin wrappers every request passes through, keep the ones that do work
    for ct, tt, nc, file, line, func in ours[:limit]:
        short = file.split("site-packages/")[-1].split("wt-bench/")[-1]
        lines.append(f"  {1000 * ct / iterations:7.2f} ms  {nc / iterations:6.1f}x  {short}:{line} {func}")
    lines += ["", "own time, everything (ms per iteration):"]
    for ct, tt, nc, file, line, func in sorted(rows, key=lambda r: r[1], reverse=True)[:limit]:
        short = file.split("site-packages/")[-1].split("wt-bench/")[-1]
        lines.append(f"  {1000 * tt / iterations:7.2f} ms  {nc / iterations:6.1f}x  {short}:{line} {func}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(hotspots(sys.argv[1], int(sys.argv[2])))
