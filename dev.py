#!/usr/bin/env python3
"""Developer entry point. Needs only Python 3.11+.

    python3 dev.py demo            # migrate, create the demo user/client, run the dev server
    python3 dev.py test [ARGS...]  # run the test suite (ARGS go to pytest)
    python3 dev.py docs            # build the documentation (mkdocs build --strict)
    python3 dev.py lint            # ruff check and ruff format --check
    python3 dev.py matrix [ARGS]   # the suite on every supported (Python, Django) pair (nox; ARGS go to nox)

The first run creates ./.venv and installs the project into it in editable mode
with the ``test`` and ``example`` extras; later runs reinstall only when
pyproject.toml has changed.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(cmd, check=True, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def pyproject_hash() -> str:
    if not (ROOT / "pyproject.toml").exists():
        sys.exit(f"No pyproject.toml in {ROOT}: run dev.py from a checkout of the project.")
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv():
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py runs on whatever python3 is installed
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV}")
        run([sys.executable, "-m", "venv", VENV])
    wanted = pyproject_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("Installing the project and its dependencies (pyproject.toml is new or changed)")
    run([PYTHON, "-m", "pip", "install", "-e", ".[test,example]"])
    STAMP.write_text(wanted + "\n")


def manage(*args, check=True):
    return run([PYTHON, "manage.py", *args], check=check)


def cmd_demo(args):
    manage("migrate")
    manage("setup_demo")
    print("\nOpen http://127.0.0.1:8000/ and sign in as demo / demo (Ctrl+C to stop).\n")
    try:
        return manage("runserver", "127.0.0.1:8000", *args, check=False)
    except KeyboardInterrupt:
        return 0


def cmd_test(args):
    return run([PYTHON, "-m", "pytest", *args], check=False)


def cmd_docs(args):
    return run([PYTHON, "-m", "mkdocs", "build", "--strict", *args], check=False)


def cmd_lint(args):
    checked = run([PYTHON, "-m", "ruff", "check", ".", *args], check=False)
    formatted = run([PYTHON, "-m", "ruff", "format", "--check", "."], check=False)
    return checked or formatted


def cmd_matrix(args):
    return run([PYTHON, "-m", "nox", "--noxfile", ROOT / "noxfile.py", *args], check=False)


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "docs": cmd_docs, "lint": cmd_lint, "matrix": cmd_matrix}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip())
        return 2
    ensure_venv()
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
