"""Servers and what is read from the outside of them: databases, gunicorn processes, CPU time
(``/proc/<pid>/stat`` utime+stime of every worker, and of the PostgreSQL backends serving the
server's database) and resident memory."""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from envs import BENCH, python

PEERS = BENCH / "peers"
TICK = os.sysconf("SC_CLK_TCK")


# -- databases ------------------------------------------------------------------------------------
def sql(statement, database="postgres"):
    """Run one statement on the local PostgreSQL (psql when installed, else psycopg from a venv)."""
    if shutil.which("psql"):
        cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-AtqX", "-c", statement]
    else:
        code = (
            "import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
            "    cur = c.execute(sys.argv[2])\n"
            "    print('\\n'.join('|'.join(map(str, r)) for r in (cur.fetchall() if cur.description else [])))"
        )
        cmd = [str(python("ours")), "-c", code, f"host=127.0.0.1 user=postgres dbname={database}", statement]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


class Database:
    """``postgres:bench_<name>`` (dropped and created) or an SQLite file under ``workdir``."""

    def __init__(self, kind, name, workdir: Path):
        self.kind, self.name = kind, f"bench_{name.replace('-', '_')}"
        self.path = workdir / f"{self.name}.sqlite3"

    def create(self):
        if self.kind == "postgres":
            sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            sql(f"CREATE DATABASE {self.name}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def drop(self):
        if self.kind == "postgres":
            sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def setting(self):
        return f"postgres:{self.name}" if self.kind == "postgres" else f"sqlite:{self.path}"

    def backend_pids(self):
        if self.kind != "postgres":
            return []
        out = sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.name}'")
        return [int(p) for p in out.split()]


# -- processes ------------------------------------------------------------------------------------
def cpu_split(pid):
    """(utime, stime) of one process, in seconds ((0, 0) when it is gone): the kernel's share is
    where SQLite's file locks and WAL writes show."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0, 0.0
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def machine_cpu():
    """(busy, stolen) CPU seconds of the whole machine so far (``/proc/stat``): busy is every process's
    and the kernel's work, the load generator's and the database's background included, which bounds
    what the machine's cores can serve; stolen is the hypervisor's, another guest's (the host's noise)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / TICK, steal / TICK


def cpu_seconds(pid):
    """utime + stime of one process, in seconds (0 when it is gone)."""
    return sum(cpu_split(pid))


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            found += [int(p) for p in path.read_text().split()]
    return found


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One peer project (``bench/peers/<peer>``) on its database, served by gunicorn."""

    def __init__(self, name, peer, db: Database, workdir: Path, workers=2, env=None):
        self.name, self.peer, self.db, self.workers = name, peer, db, workers
        self.venv = "ours" if peer == "ours" else peer
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.fixture_path = workdir / f"fixture-{name}.json"
        self.log_path = workdir / f"gunicorn-{name}.log"
        self.extra_env = env or {}
        self.process = None
        self.fixture = None

    def env(self):
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))},
            "PYTHONPATH": f"{PEERS / self.peer}:{PEERS}",
            "DJANGO_SETTINGS_MODULE": "peer_settings",
            "BENCH_DATABASE": self.db.setting(),
            "BENCH_BASE_URL": self.base_url,
            "BENCH_FIXTURE": str(self.fixture_path),
            "BENCH_KEY_FILE": str(self.workdir / f"key-{self.name}.pem"),
            **self.extra_env,
        }

    def setup(self, pool, *args):
        """Create the database and run the peer's setup script; load the fixture it writes."""
        self.db.create()
        t0 = time.monotonic()
        subprocess.run(
            [str(python(self.venv)), str(PEERS / self.peer / "setup_peer.py"), str(pool), *args],
            cwd=PEERS / self.peer,
            env=self.env(),
            check=True,
        )
        self.fixture = json.loads(self.fixture_path.read_text())
        return time.monotonic() - t0

    def start(self, floor_bytes=None, timeout=60):
        env = self.env()
        if floor_bytes:
            env["BENCH_FLOOR_BYTES"] = str(floor_bytes)
        gunicorn = python(self.venv).parent / "gunicorn"
        cmd = [
            str(gunicorn),
            "peer_wsgi:application",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(PEERS / self.peer),
            "--timeout",
            "120",
            "--error-logfile",
            str(self.log_path),
            "--log-level",
            "warning",
            "--no-control-socket",
        ]
        self.process = subprocess.Popen(
            cmd, cwd=PEERS / self.peer, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        path = self.fixture["paths"]["discovery"]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            if len(self.worker_pids()) == self.workers and _get_status(self.port, path) == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: no answer on {path} within {timeout}s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def worker_pids(self):
        return children(self.process.pid) if self.process else []

    def cpu(self):
        """CPU seconds so far: {"server": workers' total, "server_sys": its kernel share,
        "db": {backend pid: seconds}}."""
        split = [cpu_split(p) for p in self.worker_pids()]
        return {
            "server": sum(u + s for u, s in split),
            "server_sys": sum(s for _, s in split),
            "db": {p: cpu_seconds(p) for p in self.db.backend_pids()},
        }


class NodeServer(Server):
    """node-oidc-provider (``bench/peers/node/server.mjs``): one process, which pre-mints the items and
    writes the fixture itself (its adapter is in memory) before it listens; ``setup`` starts it."""

    def __init__(self, name, peer, db: Database, workdir: Path, workers=2, env=None):
        super().__init__(name, peer, db, workdir, workers=1, env=env)
        db.kind = "memory"  # its own adapter: no database, no database CPU

    def setup(self, pool, *args, timeout=600):
        t0 = time.monotonic()
        self.fixture_path.unlink(missing_ok=True)
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            ["node", "server.mjs", str(pool)], cwd=PEERS / self.peer, env=self.env(), stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while not self.fixture_path.exists() or not self.fixture_path.stat().st_size:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name}: node server not ready:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(0.2)  # the fixture is written in one call; let it land
        self.fixture = json.loads(self.fixture_path.read_text())
        return time.monotonic() - t0

    def start(self, floor_bytes=None, timeout=60):
        return self

    def worker_pids(self):
        return [self.process.pid] if self.process and self.process.poll() is None else []


def cpu_delta(before, after):
    """(server seconds, its kernel share, database seconds) spent between two ``Server.cpu()`` readings."""
    db = sum(sec - before["db"].get(pid, 0.0) for pid, sec in after["db"].items())
    return after["server"] - before["server"], after["server_sys"] - before["server_sys"], db


def _get_status(port, path):
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None
