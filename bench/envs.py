"""One virtualenv per product under bench/.venvs/, built on first use (a stamp file records what
was asked for, so a changed requirement list rebuilds it)."""

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENVS = BENCH / ".venvs"

COMMON = ["gunicorn>=23", "psycopg[binary]>=3.1"]
REQUIREMENTS = {
    # our OP from this checkout (editable: the code measured is the code in the work tree)
    "ours": ["-e", str(ROOT), *COMMON],
    "dot": ["django>=5.2,<6", "django-oauth-toolkit>=3,<4", *COMMON],
    "dop": ["django>=5.2,<6", "django-oidc-provider", *COMMON],
}


NODE_PEER = BENCH / "peers" / "node"


def ensure_node() -> str | None:
    """``npm install`` node-oidc-provider into bench/peers/node/ (not committed) when its package.json
    changed; None when it is ready, else why the node peer cannot run."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm not installed"
    stamp = NODE_PEER / "node_modules" / ".bench-stamp"
    wanted = (NODE_PEER / "package.json").read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return None
    print("[envs] npm install in bench/peers/node", flush=True)
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save"], cwd=NODE_PEER)
    if done.returncode:
        return f"npm install failed ({done.returncode})"
    stamp.write_text(wanted)
    return None


def node_versions() -> dict:
    out = {"node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()}
    package = NODE_PEER / "node_modules" / "oidc-provider" / "package.json"
    if package.exists():
        out["oidc-provider"] = json.loads(package.read_text())["version"]
    return out


def python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def ensure(name: str) -> Path:
    """The venv's python, creating or updating the venv when its requirements changed."""
    target = VENVS / name
    stamp = target / ".bench-stamp"
    wanted = json.dumps(REQUIREMENTS[name])
    if stamp.exists() and stamp.read_text() == wanted:
        return python(name)
    print(f"[envs] building {target} ({' '.join(REQUIREMENTS[name])})", flush=True)
    if not python(name).exists():
        venv.EnvBuilder(with_pip=True).create(target)
    subprocess.run([python(name), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([python(name), "-m", "pip", "install", "-q", *REQUIREMENTS[name]], check=True)
    stamp.write_text(wanted)
    return python(name)


def versions(name: str) -> dict:
    """Installed versions of the packages that matter, for the report."""
    if name == "node":
        return node_versions()
    code = (
        "import importlib.metadata as m, json; out = {}\n"
        "for p in ('django', 'django-oauth-toolkit', 'oauthlib', 'django-oidc-provider', 'django-idpyoidc-op',"
        " 'idpyoidc', 'cryptojwt', 'gunicorn', 'psycopg'):\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    # cwd away from the checkout, whose egg-info would show up in every venv
    return json.loads(
        subprocess.run([python(name), "-c", code], cwd=VENVS, check=True, capture_output=True, text=True).stdout
    )


if __name__ == "__main__":
    for name in sys.argv[1:] or REQUIREMENTS:
        ensure(name)
        print(name, versions(name))
