"""The test matrix: one nox session per supported (Python, Django) pair.

    python3 dev.py matrix                           # every pair (installs nox into .venv first)
    python3 dev.py matrix --list                    # the sessions
    python3 dev.py matrix -s tests-3.12-django6.0   # one pair
    python3 dev.py matrix -t newest                 # the newest pair (what CI runs beside .venv)
    python3 dev.py matrix -s tests-3.13-django6.1 -- -x tests/protocol   # arguments after -- go to pytest

Each session creates its own environment under .nox/ from PyPI with the project, its ``test`` extra
and that Django series, then runs the whole suite: SQLite by default, PostgreSQL when DATABASE_URL is
set (as with ``python3 dev.py test``).
"""

import os
import re
from pathlib import Path

import nox

# (Python, Django series). Django 6 needs Python 3.12 or newer. The pins in pyproject.toml
# (requires-python, the django requirement, the trove classifiers), the README's "Supported versions"
# and .ci/run (the newest pair, last here) say the same: tests/test_support_matrix.py holds them to it.
PAIRS = [
    ("3.11", "5.2"),
    ("3.12", "5.2"),
    ("3.12", "6.0"),
    ("3.12", "6.1"),
    ("3.13", "5.2"),
    ("3.13", "6.0"),
    ("3.13", "6.1"),
]
NEWEST = PAIRS[-1]  # the newest Python with the newest Django

nox.options.error_on_missing_interpreters = True  # a pair without its Python fails; it is not skipped


def _let_pyenv_answer():
    """pyenv's ``python3.12`` shim answers only when 3.12 is one of pyenv's active versions. Make
    the newest installed patch release of each Python of the matrix active for the sessions (the
    versions already active stay first)."""
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not versions.is_dir():
        return
    active = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    for python in sorted({python for python, _ in PAIRS}):
        if any(v == python or v.startswith(python + ".") for v in active):
            continue
        installed = [d.name for d in versions.iterdir() if re.fullmatch(re.escape(python) + r"\.\d+", d.name)]
        if installed:
            active.append(max(installed, key=lambda name: int(name.rsplit(".", 1)[1])))
    if active:
        os.environ["PYENV_VERSION"] = ":".join(active)


_let_pyenv_answer()


def _session(python, django):
    tags = [f"python{python}", f"django{django}"] + (["newest"] if (python, django) == NEWEST else [])

    @nox.session(python=python, name=f"tests-{python}-django{django}", tags=tags)
    def tests(session):
        session.install(".[test]", f"django~={django}.0")
        session.run("python", "-c", "import django, platform; print(platform.python_version(), django.__version__)")
        session.run("python", "-m", "pytest", *session.posargs)

    return tests


for _python, _django in PAIRS:
    _session(_python, _django)
