"""The defect catalogue (docs/idpyoidc-defects.md) and the repository's self-containment.

Every idpyoidc defect the code or the tests name by number has exactly one row in the catalogue, the
files, methods and tests a row names exist, and no tracked file points at a document a clone of the
repository does not have."""

import ast
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "docs" / "idpyoidc-defects.md"
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# "defect 15", "Defect 46", "defects 20, 21", "defects 5/26", "Defects 6 and 45", "defect-30", and
# the same broken over lines, in comments too ("defect\n    # 15").
NUMBER = r"\d+(?!\.\d)"  # not a version such as 5.0.0
SEPARATOR = r"\s*(?:,\s*(?:and\s+|or\s+)?|/|&|\band\b|\bor\b)\s*(?:#\s*)?"
MENTION = re.compile(rf"\bdefects?[\s#-]*({NUMBER}(?:{SEPARATOR}{NUMBER})*)", re.IGNORECASE)
ROW = re.compile(r"^\|\s*(\d+)\s*\|", re.MULTILINE)

# Pointers at documents outside the repository (spelt so that this file does not match them).
OUTSIDE = re.compile(r"shared[/]reference|notes\s+§|DESIGN[.]md", re.IGNORECASE)
OUTSIDE_EXEMPT = (THIS, "CHANGELOG.md")
OUTSIDE_EXEMPT_DIRS = ("bench/results/",)


def tracked_files(*paths):
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", *paths], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in listed.decode().split("\0") if name]


def read_text(name):
    path = ROOT / name
    if not path.is_file():  # deleted in the work tree, not yet in the index
        return ""
    return path.read_bytes().decode("utf-8", errors="replace")


def defect_numbers(text):
    """The defect numbers a text mentions."""
    return {int(n) for match in MENTION.finditer(text) for n in re.findall(NUMBER, match.group(1))}


def test_the_mention_parser():
    text = """Defect 46: stock ... (defects 5, 18, 25, 26) ... defects 5/26: ... Defects 6 and 45
    ... the 5.0.0 defects on its path ... Defect
    69: stock ... (defect
        # 15), so ... defect 74, ``storage.token_values`` ... Defect 43, RFC 9700 §4.14.2 ... defect-30"""
    assert defect_numbers(text) == {46, 5, 18, 25, 26, 6, 45, 69, 15, 74, 43, 30}


def cited_defects():
    """{number: [where it is named]} over oidc_provider/ and tests/."""
    cited = defaultdict(list)
    for name in tracked_files("oidc_provider", "tests"):
        if name == THIS:
            continue
        text = read_text(name)
        for match in MENTION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for number in re.findall(NUMBER, match.group(1)):
                cited[int(number)].append(f"{name}:{line}")
    return cited


def catalogue_rows():
    return Counter(int(n) for n in ROW.findall(CATALOGUE.read_text()))


def test_every_defect_named_in_the_code_has_a_row_in_the_catalogue():
    cited, rows = cited_defects(), catalogue_rows()
    missing = sorted(set(cited) - set(rows))
    assert not missing, (
        f"{len(missing)} defects named in oidc_provider/ or tests/ have no row in docs/idpyoidc-defects.md: "
        f"{missing}\n" + "\n".join(f"  defect {n}: {', '.join(cited[n][:3])}" for n in missing)
    )


def test_no_defect_has_two_rows_in_the_catalogue():
    twice = sorted(n for n, count in catalogue_rows().items() if count > 1)
    assert not twice, f"defects with more than one row in docs/idpyoidc-defects.md: {twice}"


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for name in tracked_files():
        if name in OUTSIDE_EXEMPT or name.startswith(OUTSIDE_EXEMPT_DIRS):
            continue
        text = read_text(name)
        for match in OUTSIDE.finditer(text):
            offenders.append(f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}")
    assert not offenders, "pointers at documents outside the repository:\n" + "\n".join(offenders)


FILE = re.compile(r"`([\w/]+\.py)`")
METHOD = re.compile(r"`([A-Z]\w*)\.(\w+)`")
TEST = re.compile(r"`(test_\w+)`")


def defined_names(path):
    """{class name: names defined in its body} and, under "", the module's own top-level names."""
    tree = ast.parse(path.read_text())
    names = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {
                n.name if not isinstance(n, ast.Assign) else t.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n])
                if not isinstance(n, ast.Assign) or isinstance(t, ast.Name)
            }
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[""].add(node.name)
    return names


def defined_tests():
    return {
        node.name
        for path in (ROOT / "tests").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def broken_references(text, package, tests):
    """What a catalogue's "where repaired" and "test" columns name that does not exist: a file under
    ``package``, a ``Class.method`` of the file named before it, a test function in ``tests``."""
    problems = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not ROW.match(line) or len(cells) != 6:
            continue
        number, where, named_tests = cells[0], cells[3], cells[4]
        for segment in re.split(r"(?=`[\w/]+\.py`)", where):
            file = FILE.match(segment)
            if not file:
                continue
            path = package / file.group(1)
            if not path.is_file():
                problems.append(f"defect {number}: no file {file.group(1)}")
                continue
            names = defined_names(path)
            for cls, attr in METHOD.findall(segment[file.end() :]):
                if attr not in names.get(cls, ()):
                    problems.append(f"defect {number}: no {cls}.{attr} in {file.group(1)}")
        problems += [f"defect {number}: no test {name}" for name in TEST.findall(named_tests) if name not in tests]
    return problems


def test_what_the_catalogue_names_exists():
    """Every file, ``Class.method`` and test the catalogue names as a defect's repair and its test."""
    problems = broken_references(CATALOGUE.read_text(), ROOT / "oidc_provider", defined_tests())
    assert not problems, "docs/idpyoidc-defects.md names what is not there:\n" + "\n".join(problems)


def test_the_reference_checker(tmp_path):
    (tmp_path / "idpy").mkdir()
    (tmp_path / "idpy" / "a.py").write_text("class A:\n    x = 1\n\n    def f(self):\n        pass\n")
    row = "| 1 | symptom | spec | `idpy/a.py` `A.f`, `A.x`, `A.g`; `idpy/b.py` `B.f` | `test_one`, `test_two` | open |"
    assert broken_references(row, tmp_path, {"test_one"}) == [
        "defect 1: no A.g in idpy/a.py",
        "defect 1: no file idpy/b.py",
        "defect 1: no test test_two",
    ]
