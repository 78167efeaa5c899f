"""Release readiness: the version has one source, the distributions' contents are checked, the
changelog keeps its form. (`python3 dev.py package` builds the real sdist and wheel and runs a site on
the wheel; these tests hold the pieces it relies on.)"""

import importlib.util
import io
import re
import tarfile
import tomllib
import zipfile
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path

import pytest

import oidc_provider

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def load_dev():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_version_is_written_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "oidc_provider.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", oidc_provider.__version__)


def test_the_installed_distribution_has_the_package_version():
    assert version("django-idpyoidc-op") == oidc_provider.__version__


def test_a_version_bump_reinstalls_the_development_environment(tmp_path, monkeypatch):
    dev = load_dev()
    (tmp_path / "oidc_provider").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    init = tmp_path / "oidc_provider" / "__init__.py"
    init.write_text('__version__ = "1.0.0"\n')
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    before = dev.pyproject_hash()
    init.write_text('__version__ = "1.0.1"\n')
    assert dev.pyproject_hash() != before


def archives(tmp_path, files, leave_out=(), licence=True):
    """An sdist and a wheel of ``files`` (paths relative to the project root), less ``leave_out``."""
    sdist, wheel = tmp_path / "p-1.0.tar.gz", tmp_path / "django_idpyoidc_op-1.0-py3-none-any.whl"
    with tarfile.open(sdist, "w:gz") as archive:
        for name in [*files, "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"]:
            if name not in leave_out:
                archive.addfile(tarfile.TarInfo(f"p-1.0/{name}"), io.BytesIO(b""))
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in files:
            if name not in leave_out:
                archive.writestr(name, "")
        if licence:
            archive.writestr("django_idpyoidc_op-1.0.dist-info/licenses/LICENSE", "")
    return sdist, wheel


def test_complete_distributions_pass_the_contents_check(tmp_path):
    dev = load_dev()
    dev.check_contents(*archives(tmp_path, dev.package_files()))


@pytest.mark.parametrize(
    "leave_out",
    [
        "oidc_provider/templates/oidc_provider/consent.html",
        "oidc_provider/migrations/0001_initial.py",
        "oidc_provider/locale/fr/LC_MESSAGES/django.mo",
        "CHANGELOG.md",
    ],
)
def test_the_contents_check_sees_a_missing_file(tmp_path, leave_out):
    dev = load_dev()
    with pytest.raises(SystemExit, match=re.escape(leave_out)):
        dev.check_contents(*archives(tmp_path, dev.package_files(), leave_out=[leave_out]))


def test_the_contents_check_sees_a_wheel_without_the_licence(tmp_path):
    dev = load_dev()
    with pytest.raises(SystemExit, match="licenses/LICENSE"):
        dev.check_contents(*archives(tmp_path, dev.package_files(), licence=False))


def test_translations_and_static_files_are_package_data():
    """No static file exists yet; when one does, these rules put it in the wheel (and `dev.py package`
    fails if a file of the package is missing from it)."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["oidc_provider"]
    for wanted in ["locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po", "static/**/*", "templates/**/*"]:
        assert wanted in patterns


def test_the_wheel_must_hold_the_compiled_french_catalogue():
    """Django reads the .mo, never the .po: the French one is a file of the package, which the contents
    check wants in the sdist and the wheel, and the package-data rules take every catalogue."""
    files = load_dev().package_files()
    assert {f"oidc_provider/locale/fr/LC_MESSAGES/django.{suffix}" for suffix in ("mo", "po")} <= set(files)
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["oidc_provider"]
    for name in files:
        if name.startswith("oidc_provider/locale/"):
            assert any(fnmatch(name.removeprefix("oidc_provider/"), pattern) for pattern in patterns), name


KEEP_A_CHANGELOG_TYPES = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    releases = re.findall(r"^## (.+)$", text, flags=re.M)
    assert releases[0] == "Unreleased"
    for heading in releases[1:]:
        # "1.2.3 - 2027-01-31", or "[1.2.3] - 2027-01-31" with its link reference at the bottom
        assert re.fullmatch(r"(\d+\.\d+\.\d+|\[\d+\.\d+\.\d+\]) - \d{4}-\d{2}-\d{2}", heading), heading
        if heading.startswith("["):
            version_ = heading[1:].partition("]")[0]
            assert re.search(rf"^\[{re.escape(version_)}\]: \S+$", text, flags=re.M), f"no link for {heading}"
    for section in re.split(r"^## .+$", text, flags=re.M)[1:]:
        types = re.findall(r"^### (.+)$", section, flags=re.M)
        assert set(types) <= KEEP_A_CHANGELOG_TYPES and len(types) == len(set(types)), types
        for body in re.split(r"^### .+$", section, flags=re.M)[1:]:
            assert body.strip(), "an empty section"
