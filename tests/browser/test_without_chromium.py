"""Without Chromium the browser tests skip and say why; with OIDC_TEST_REQUIRE_BROWSER=1 (CI) they fail."""

import os
import subprocess
import sys

from tests.e2e.live import ROOT

ONE_TEST = "tests/browser/test_error_page.py"


def run_without_chromium(tmp_path, **env):
    """pytest on one browser test with a PATH on which no Chromium is found."""
    environment = {k: v for k, v in os.environ.items() if k not in ("OIDC_TEST_CHROMIUM", "OIDC_TEST_REQUIRE_BROWSER")}
    environment.update(PATH=str(tmp_path), OIDC_TEST_SCREENSHOTS=str(tmp_path / "shots"), **env)
    cmd = [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider", ONE_TEST]
    result = subprocess.run(cmd, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_the_browser_tests_skip_without_chromium(tmp_path):
    code, output = run_without_chromium(tmp_path)
    assert code == 0 and "1 skipped" in output, output
    assert "no Chromium on PATH: apt-get install chromium" in output, output


def test_the_browser_tests_fail_without_chromium_when_required(tmp_path):
    code, output = run_without_chromium(tmp_path, OIDC_TEST_REQUIRE_BROWSER="1")
    assert code == 1 and "1 error" in output, output
    assert "OIDC_TEST_REQUIRE_BROWSER=1 makes that a failure" in output, output
