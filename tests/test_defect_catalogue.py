"""The defect catalogue (docs/idpyoidc-defects.md) and the repository's self-containment.

Every idpyoidc defect the code or the tests name by number has exactly one row in the catalogue, and
no tracked file points at a document a clone of the repository does not have."""

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
