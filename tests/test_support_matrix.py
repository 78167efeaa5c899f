"""What pyproject.toml, CI and the README say about supported versions is what noxfile.py tests:
every (Python, Django) pair that Django allows, the django requirement bounded by exactly the
series tested, a trove classifier for each Python and each Django series, CI running the newest
pair, the README naming the versions."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def matrix_pairs(noxfile: str) -> list[tuple[str, str]]:
    """PAIRS of noxfile.py, read without importing nox."""
    for node in ast.parse(noxfile).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["PAIRS"]:
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no PAIRS")


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def statements(pyproject: dict, pairs: list[tuple[str, str]]) -> list[str]:
    """Each statement of pyproject.toml that disagrees with the pairs tested."""
    project = pyproject["project"]
    pythons = sorted({p for p, _ in pairs}, key=version)
    djangos = sorted({d for _, d in pairs}, key=version)
    wrong = []
    allowed = [(p, d) for p in pythons for d in djangos if version(d) < (6,) or version(p) >= (3, 12)]
    if sorted(pairs) != sorted(allowed):
        wrong.append(f"the pairs are not every pair Django allows: missing {set(allowed) - set(pairs)}")
    last = version(djangos[-1])
    wanted = f"django>={djangos[0]},<{last[0]}.{last[1] + 1}"
    requirement = [r for r in project["dependencies"] if re.match(r"django\b(?!-)", r, re.I)]
    if requirement != [wanted]:
        wrong.append(f"django requirement {requirement}, the matrix tests {wanted}")
    if project["requires-python"] != f">={pythons[0]}":
        wrong.append(f"requires-python {project['requires-python']}, the matrix starts at {pythons[0]}")
    classified = {
        "Framework :: Django": {c.rpartition(" :: ")[2] for c in project["classifiers"] if c.count("Django ::") == 1},
        "Programming Language :: Python": {
            c.rpartition(" :: ")[2] for c in project["classifiers"] if re.fullmatch(r".*Python :: 3\.\d+", c)
        },
    }
    if classified["Framework :: Django"] != set(djangos):
        wrong.append(f"Django classifiers {sorted(classified['Framework :: Django'])}, the matrix tests {djangos}")
    if classified["Programming Language :: Python"] != set(pythons):
        wrong.append(f"Python classifiers {sorted(classified['Programming Language :: Python'])}, tested {pythons}")
    return wrong


PAIRS = matrix_pairs((ROOT / "noxfile.py").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_says_what_the_matrix_tests():
    assert statements(PYPROJECT, PAIRS) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["project"]["dependencies"].__setitem__(0, "django>=5.2,<7"),
        lambda p: p["project"].__setitem__("requires-python", ">=3.10"),
        lambda p: p["project"]["classifiers"].remove("Framework :: Django :: 6.1"),
        lambda p: p["project"]["classifiers"].append("Programming Language :: Python :: 3.14"),
    ],
)
def test_the_check_sees_a_statement_beyond_the_matrix(change):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"][0].startswith("django")
    change(pyproject)
    assert statements(pyproject, PAIRS)


def test_the_check_sees_a_missing_pair():
    assert statements(PYPROJECT, [pair for pair in PAIRS if pair != ("3.12", "6.0")])


def test_ci_runs_the_newest_pair():
    newest = PAIRS[-1]
    assert newest == (max((p for p, _ in PAIRS), key=version), max((d for _, d in PAIRS), key=version))
    assert re.search(r"^python3 dev\.py matrix -t newest\b", (ROOT / ".ci" / "run").read_text(), re.M)


def test_the_readme_names_the_supported_versions():
    readme = (ROOT / "README.md").read_text()
    section = readme.partition("## Supported versions")[2].partition("\n## ")[0]
    pythons = sorted({p for p, _ in PAIRS}, key=version)
    assert f"Python {pythons[0]}–{pythons[-1]}" in section
    for django in sorted({d for _, d in PAIRS}, key=version):
        assert re.search(rf"\b{re.escape(django)}\b", section), django
    assert "idpyoidc 5.0" in section
