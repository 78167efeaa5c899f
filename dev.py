#!/usr/bin/env python3
"""Developer entry point. Needs only Python 3.11+.

    python3 dev.py demo            # migrate, create the demo user/client, run the dev server
    python3 dev.py test [ARGS...]  # run the test suite (ARGS go to pytest)
    python3 dev.py docs            # build the documentation (mkdocs build --strict)
    python3 dev.py lint            # ruff check and ruff format --check
    python3 dev.py matrix [ARGS]   # the suite on every supported (Python, Django) pair (nox; ARGS go to nox)
    python3 dev.py messages [LANG...]
                                   # update every shipped catalogue (oidc_provider/locale; LANG adds one)
                                   # from the app's sources and compile it; needs GNU gettext
    python3 dev.py package [--django SPEC]
                                   # build the sdist and wheel, twine check them, install the wheel
                                   # and Django (default: the newest 6.x) into a fresh Python 3.13
                                   # environment and run a new site on it (.ci/wheel_site.py)

The first run creates ./.venv and installs the project into it in editable mode
with the ``test`` and ``example`` extras; later runs reinstall only when
pyproject.toml or the version in oidc_provider/__init__.py has changed.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(cmd, check=True, **kwargs):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    kwargs.setdefault("cwd", ROOT)
    result = subprocess.run([str(c) for c in cmd], **kwargs)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def pyproject_hash() -> str:
    """A digest of what the editable install's metadata comes from: pyproject.toml and the version."""
    if not (ROOT / "pyproject.toml").exists():
        sys.exit(f"No pyproject.toml in {ROOT}: run dev.py from a checkout of the project.")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update((ROOT / "oidc_provider" / "__init__.py").read_bytes())
    return digest.hexdigest()


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


CHROMIUM_NAMES = ("chromium", "chromium-browser")  # as tests/browser/conftest.py looks for it
# Debian packages some tests need, and the programs that tell they are there: the browser tests
# (tests/browser) drive Chromium; the catalogue tests (tests/test_translations.py) extract with xgettext.
TEST_PACKAGES = {"chromium": CHROMIUM_NAMES, "gettext": ("xgettext",)}


def ensure_test_packages():
    """When a package of TEST_PACKAGES is missing and this is root with apt-get, install it; otherwise,
    or if that fails, the tests that need it skip saying why (with OIDC_TEST_REQUIRE_BROWSER=1 and
    OIDC_TEST_REQUIRE_GETTEXT=1, as in CI, they fail)."""
    present = {"chromium": bool(os.environ.get("OIDC_TEST_CHROMIUM"))}
    missing = [
        package
        for package, programs in TEST_PACKAGES.items()
        if not present.get(package) and not any(shutil.which(name) for name in programs)
    ]
    if not missing:
        return
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"Not found: {', '.join(missing)}; no apt-get as root to install them: the tests needing them skip.")
        return
    print(f"Installing Debian's {', '.join(missing)} for the tests", flush=True)
    apt = {"env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, "stdin": subprocess.DEVNULL, "check": False}
    if run(["apt-get", "install", "-y", *missing], **apt):
        run(["apt-get", "update"], **apt)  # a new machine may have no package lists yet
        if run(["apt-get", "install", "-y", *missing], **apt):
            print(f"{', '.join(missing)} could not be installed: the tests that need them will skip.", flush=True)


def cmd_test(args):
    ensure_test_packages()
    return run([PYTHON, "-m", "pytest", *args], check=False)


def cmd_docs(args):
    return run([PYTHON, "-m", "mkdocs", "build", "--strict", *args], check=False)


def cmd_lint(args):
    checked = run([PYTHON, "-m", "ruff", "check", ".", *args], check=False)
    formatted = run([PYTHON, "-m", "ruff", "format", "--check", "."], check=False)
    return checked or formatted


PACKAGE = "django-idpyoidc-op"
PACKAGE_PYTHON = "3.13"
PACKAGE_DJANGO = "django>=6,<7"  # the newest Django 6.x on PyPI


def package_python() -> str:
    """A Python 3.13 interpreter: $PACKAGE_PYTHON, else pyenv's newest 3.13, else python3.13 on PATH."""
    candidates = [os.environ.get("PACKAGE_PYTHON", "")]
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        pyenv_root = found.stdout.strip() or pyenv_root
    pattern = f"{pyenv_root}/versions/{PACKAGE_PYTHON}.*/bin/python{PACKAGE_PYTHON}"

    def newest_first(path):
        return [int(n) for n in Path(path).parents[1].name.split(".") if n.isdigit()]

    candidates += sorted(glob.glob(pattern), key=newest_first, reverse=True)
    candidates.append(shutil.which(f"python{PACKAGE_PYTHON}") or "")
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == PACKAGE_PYTHON:
            return candidate
    sys.exit(
        f"Python {PACKAGE_PYTHON} was not found (looked at $PACKAGE_PYTHON, {pattern} and python{PACKAGE_PYTHON} "
        f"on PATH). Install it (e.g. `pyenv install {PACKAGE_PYTHON}`) or set PACKAGE_PYTHON to its interpreter."
    )


def package_files() -> list[str]:
    """Every file of the package as it must ship, relative to the project root (no bytecode)."""
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "oidc_provider").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def check_contents(sdist: Path, wheel: Path):
    """The sdist holds what builds the wheel; the wheel holds every file of the package and LICENSE."""
    with tarfile.open(sdist) as archive:
        in_sdist = {name.partition("/")[2] for name in archive.getnames()}
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    wanted = package_files()
    problems = [f"sdist lacks {name}" for name in [*wanted, "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"]]
    problems = [p for p in problems if p.split(" lacks ")[1] not in in_sdist]
    problems += [f"wheel lacks {name}" for name in wanted if name not in in_wheel]
    dist_info = f"{PACKAGE.replace('-', '_')}-{wheel.name.split('-')[1]}.dist-info"
    if f"{dist_info}/licenses/LICENSE" not in in_wheel:
        problems.append(f"wheel lacks {dist_info}/licenses/LICENSE")
    strays = sorted(n for n in in_wheel if not n.startswith(("oidc_provider/", f"{dist_info}/")))
    problems += [f"wheel holds a file outside the package: {name}" for name in strays]
    if problems:
        sys.exit("\n".join(["The distributions are incomplete:", *problems]))
    print(f"{sdist.name}: {len(in_sdist)} entries; {wheel.name}: {len(in_wheel)} files, every package file included")


def cmd_package(args):
    django = PACKAGE_DJANGO
    if args[:1] == ["--django"] and len(args) == 2:
        django = args[1]
    elif args:
        sys.exit("usage: python3 dev.py package [--django SPEC]   (SPEC e.g. 'django>=6,<7')")
    interpreter = package_python()
    started = time.monotonic()
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run([PYTHON, "-m", "build", "--quiet", "--outdir", dist, "."])  # the sdist, then the wheel built from it
    sdist, wheel = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdist) != 1 or len(wheel) != 1:
        sys.exit(f"expected one sdist and one wheel in {dist}, found {[p.name for p in dist.iterdir()]}")
    run([PYTHON, "-m", "twine", "check", "--strict", sdist[0], wheel[0]])
    check_contents(sdist[0], wheel[0])
    built = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wheel-site-") as temporary:
        venv = Path(temporary) / "venv"
        run([interpreter, "-m", "venv", venv])
        python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        # the wheel, never the source tree; Django and the rest from PyPI; redis for the shared cache
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel[0], django, "redis"]
        if run(pip, check=False):
            sys.exit(
                f"The wheel could not be installed with {django!r}: does its django pin in pyproject.toml allow it?"
            )
        installed = time.monotonic()
        site = [python, ROOT / ".ci" / "wheel_site.py", Path(temporary) / "site", ROOT / "docs" / "deployment.md"]
        code = run(site, cwd=temporary)  # not in the source tree: oidc_provider comes from the wheel
    finished = time.monotonic()
    print(
        f"package: build and twine {built - started:.0f} s, fresh environment {installed - built:.0f} s, "
        f"site {finished - installed:.0f} s; {finished - started:.0f} s in all"
    )
    return code


def cmd_matrix(args):
    return run([PYTHON, "-m", "nox", "--noxfile", ROOT / "noxfile.py", *args], check=False)


LOCALE = ROOT / "oidc_provider" / "locale"
# Run from inside oidc_provider/, so only the app's strings are taken. Locations name the file without
# a line number: a reviewer sees where a string comes from, and moving code leaves the catalogues alone.
MAKEMESSAGES = ["makemessages", "--domain=django", "--no-obsolete", "--add-location=file"]
GETTEXT_PROGRAMS = ["xgettext", "msguniq", "msgmerge", "msgattrib", "msgfmt"]
CREATION_DATE = re.compile(r'^"POT-Creation-Date: .*\\n"$', flags=re.M)


def shipped_languages() -> list[str]:
    return sorted(p.name for p in LOCALE.iterdir() if p.is_dir()) if LOCALE.is_dir() else []


def cmd_messages(args):
    missing = [program for program in GETTEXT_PROGRAMS if shutil.which(program) is None]
    if missing:
        sys.exit(
            f"GNU gettext is needed to extract and compile translations ({', '.join(missing)} not found). "
            "Install it: `apt-get install gettext` (Debian, Ubuntu), `brew install gettext` (macOS)."
        )
    languages = sorted(set(shipped_languages()) | set(args))
    if not languages:
        sys.exit("No language to update: name one, e.g. `python3 dev.py messages fr`.")
    catalogues = {lang: LOCALE / lang / "LC_MESSAGES" / "django.po" for lang in languages}
    before = {lang: po.read_text(encoding="utf-8") for lang, po in catalogues.items() if po.exists()}
    # without a settings module: a site's LOCALE_PATHS must not receive the app's catalogues
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    app = ROOT / "oidc_provider"
    LOCALE.mkdir(exist_ok=True)
    run([PYTHON, "-m", "django", *MAKEMESSAGES, *(f"--locale={lang}" for lang in languages)], cwd=app, env=env)
    for lang, po in catalogues.items():
        if not po.exists():
            continue
        new = po.read_text(encoding="utf-8")
        if lang not in before:  # a new catalogue names the project and its language; the translator does the rest
            new = new.replace('"Project-Id-Version: PACKAGE VERSION\\n"', f'"Project-Id-Version: {PACKAGE}\\n"')
            po.write_text(new.replace('"Language: \\n"', f'"Language: {lang}\\n"'), encoding="utf-8")
        elif CREATION_DATE.sub("", new) == CREATION_DATE.sub("", before[lang]):
            po.write_text(before[lang], encoding="utf-8")  # nothing changed but the date: no diff
    for lang in languages:  # compilemessages skips a .mo newer than its .po, and a checkout's times say nothing
        (LOCALE / lang / "LC_MESSAGES" / "django.mo").unlink(missing_ok=True)
    run([PYTHON, "-m", "django", "compilemessages"], cwd=app, env=env)
    for lang in languages:
        if not catalogues[lang].exists():
            print(f"{lang}: no catalogue was written (no string of the app is marked for translation)")
    return 0


COMMANDS = {
    "demo": cmd_demo,
    "test": cmd_test,
    "docs": cmd_docs,
    "lint": cmd_lint,
    "matrix": cmd_matrix,
    "package": cmd_package,
    "messages": cmd_messages,
}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip())
        return 2
    ensure_venv()
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
