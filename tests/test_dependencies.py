"""Every third-party package the code imports is declared in pyproject.toml, where its users get it:
the app's in ``dependencies``, the test suite's and the example project's in their extras too."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {"oidc_provider", "tests", "example_project"}


def declared(*extras) -> set[str]:
    requirements = PROJECT["dependencies"] + [r for e in extras for r in PROJECT["optional-dependencies"][e]]
    return {_normal(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions(package: str) -> dict[str, str]:
    """Each distribution imported (at module level or in a function) by a module of ``package``, with
    one module importing it."""
    names = packages_distributions()
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY:
                    continue
                for distribution in names.get(top, [top]):
                    found.setdefault(_normal(distribution), str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(
    "package, extras", [("oidc_provider", ()), ("tests", ("test",)), ("example_project", ("example",))]
)
def test_every_imported_distribution_is_declared(package, extras):
    undeclared = {d: where for d, where in imported_distributions(package).items() if d not in declared(*extras)}
    assert not undeclared, f"imported but not declared for {package}: {undeclared}"


def test_the_check_sees_an_undeclared_import(tmp_path, monkeypatch):
    (tmp_path / "oidc_provider").mkdir()
    (tmp_path / "oidc_provider" / "m.py").write_text("def f():\n    import cryptography.fernet\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_distributions("oidc_provider") == {"cryptography": "oidc_provider/m.py"}
