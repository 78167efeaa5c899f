"""Real OP processes for the end-to-end suite: a fresh database, ``django-admin`` commands and gunicorn.

Everything runs in subprocesses with the test project (``tests.settings``), so the servers share
nothing with the pytest process but the database.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import gunicorn
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
E2E_DB_NAME = os.environ.get("OIDC_TEST_E2E_DB_NAME", "test_oidc_e2e")  # PostgreSQL only


def _tool(name):
    """A console script of the running interpreter's environment (django-admin, gunicorn)."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or name


class Database:
    """A database made for this run: a temp SQLite file, or ``E2E_DB_NAME`` on the PostgreSQL server
    of ``DATABASE_URL`` (created and dropped through a connection to the URL's own database)."""

    def __init__(self, database_url=None):
        self.url = database_url if database_url and database_url.startswith("postgres") else None
        self.tmpdir = tempfile.mkdtemp(prefix="oidc-e2e-")
        self.path = os.path.join(self.tmpdir, "op.sqlite3")

    @property
    def is_postgres(self):
        return self.url is not None

    def env(self) -> dict:
        """The variables tests/settings.py reads to point a process at this database."""
        if self.is_postgres:
            parts = urlsplit(self.url)
            return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + E2E_DB_NAME))}
        return {"DATABASE_URL": "", "OIDC_TEST_DB_PATH": self.path}

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self):
        if self.is_postgres:
            self._admin(f"DROP DATABASE IF EXISTS {E2E_DB_NAME} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {E2E_DB_NAME}")

    def drop(self):
        if self.is_postgres:
            self._admin(f"DROP DATABASE IF EXISTS {E2E_DB_NAME} WITH (FORCE)")
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``gunicorn tests.wsgi:application`` on 127.0.0.1:<free port> against ``db``.

    ``issuer`` defaults to the server's own URL; a second process that must act as the same OP
    is given the first one's issuer. ``env``: more variables for tests/settings.py (``OIDC_TEST_SETTINGS``,
    ``OIDC_TEST_CACHE_URL``). ``access_log`` lines are ``<worker pid> <request line> <status>``.
    """

    def __init__(self, db: Database, workers=1, issuer=None, env=None):
        self.db = db
        self.workers = workers
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = issuer or f"{self.url}/oidc"
        self.log_path = os.path.join(db.tmpdir, f"gunicorn-{self.port}.log")
        self.access_log_path = os.path.join(db.tmpdir, f"access-{self.port}.log")
        self.process = None

    def env(self) -> dict:
        return {
            **os.environ,
            **self.db.env(),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "OIDC_TEST_ISSUER": self.issuer,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def manage(self, *args) -> str:
        """``django-admin <args>`` with this server's settings and database; returns stdout."""
        cmd = [_tool("django-admin"), *args, "--pythonpath", str(ROOT)]
        result = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, timeout=30):
        cmd = [
            _tool("gunicorn"),
            "tests.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--chdir",
            str(ROOT),
            "--access-logfile",
            self.access_log_path,
            "--access-logformat",
            "%(p)s %(r)s %(s)s",
            "--timeout",
            "60",
        ]
        if gunicorn.version_info >= (25, 1):
            cmd.append("--no-control-socket")  # else every server would bind ~/.gunicorn/gunicorn.ctl
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        discovery = f"{self.url}/oidc/.well-known/openid-configuration"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(discovery, timeout=5).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a slow first request
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer {discovery} within {timeout}s:\n{self.log()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return Path(self.log_path).read_text() if os.path.exists(self.log_path) else ""

    def access_log(self) -> list[tuple[str, str, int]]:
        """(worker pid, request line, status) of every request served so far."""
        if not os.path.exists(self.access_log_path):
            return []
        rows = []
        for line in Path(self.access_log_path).read_text().splitlines():
            pid, rest = line.split(" ", 1)
            request_line, status = rest.rsplit(" ", 1)
            rows.append((pid, request_line, int(status)))
        return rows

    def served(self, prefix: str, timeout: float = 5.0) -> bool:
        """Did this server serve a request whose line starts with ``prefix``? gunicorn logs a request
        after answering it, so the line may come a moment after the client has its response."""
        deadline = time.monotonic() + timeout
        while not any(line.startswith(prefix) for _, line, _ in self.access_log()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def delete_cache_keys(url, prefix):
    """Delete the keys of a Django cache on the Redis at ``url`` under ``prefix``, and only those
    (Django's ``clear()`` would empty the whole Redis database, other runs' keys included)."""
    import redis

    if not prefix:
        raise ValueError("a key prefix is needed: without one every key would go")
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
