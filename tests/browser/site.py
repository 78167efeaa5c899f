"""The example project served by gunicorn on a free port, on a SQLite database of its own, with the
demo relying party pointing at that same server (its issuer is the server's own URL)."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import gunicorn
import requests

from tests.e2e.live import ROOT, free_port

USER_PASSWORD = "browser-tests-only-4821"  # every user made here has it (one hash, copied)
ADMIN_USERNAME = "admin"


class DemoSite:
    """``url`` (no trailing slash), ``issuer``; ``manage(*args)`` runs ``manage.py`` against it;
    ``log()`` is what the server printed (its log lines and tracebacks)."""

    def __init__(self):
        self.tmpdir = tempfile.TemporaryDirectory(prefix="oidc-browser-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/oidc"
        self.log_path = Path(self.tmpdir.name) / "gunicorn.log"
        self.process = None

    def env(self) -> dict:
        """example_project/settings.py's variables; anything of the test run's (a PostgreSQL
        DATABASE_URL, a shared CACHE_URL) is replaced: this site is the demo as a newcomer runs it."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DEBUG": "True",
            "DATABASE_URL": f"sqlite:///{Path(self.tmpdir.name) / 'demo.sqlite3'}",
            "CACHE_URL": "locmemcache://",
            "OIDC_ISSUER": self.issuer,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, timeout=30):
        # threads: the demo RP's callback calls the token endpoint of this same server
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.browser.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--chdir",
            str(ROOT),
            "--timeout",
            "60",
        ]
        if gunicorn.version_info >= (25, 1):
            cmd.append("--no-control-socket")  # else every server would bind ~/.gunicorn/gunicorn.ctl
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        discovery = f"{self.issuer}/.well-known/openid-configuration"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(discovery, timeout=5).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet
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
        self.tmpdir.cleanup()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def populate(site, count):
    """In one ``manage.py shell`` run (one Django start-up, not three): migrate, ``setup_demo`` (the
    demo user and client), then ``count`` people and a superuser, all with ``USER_PASSWORD`` (hashed
    once): every test signs in as someone whose consent it has not given yet. Returns the people."""
    people = [
        SimpleNamespace(username=f"person{n:02d}", password=USER_PASSWORD, email=f"person{n:02d}@example.org")
        for n in range(1, count + 1)
    ]
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', interactive=False, verbosity=0)\n"
        "call_command('setup_demo')\n"
        "User = get_user_model()\n"
        f"admin = User.objects.create_superuser({ADMIN_USERNAME!r}, 'admin@example.org', {USER_PASSWORD!r})\n"
        f"for name, email in {[(p.username, p.email) for p in people]!r}:\n"
        "    User.objects.create(username=name, email=email, first_name=name.title(), password=admin.password)\n"
    )
    site.manage("shell", "-c", script)
    return people
