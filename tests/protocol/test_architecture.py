"""docs/architecture.md names the files a token request passes through, in order: they are the ones
a code redemption enters, in that order."""

import re
import sys
from pathlib import Path

from tests import flows

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = str(ROOT / "oidc_provider") + "/"


def documented_path():
    page = (ROOT / "docs" / "architecture.md").read_text()
    section = page.split("### A token request, file by file", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^\d+\. ([^:]*):", section, re.MULTILINE)  # the files before each item's colon
    return [file for step in steps for file in re.findall(r"`([\w/]+\.py)`", step)]


def entered_files(call):
    """The files of ``oidc_provider/`` that ``call()`` enters, in the order it first enters each."""
    order = []

    def profile(frame, event, arg):
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(PACKAGE) and name[len(PACKAGE) :] not in order:
            order.append(name[len(PACKAGE) :])

    sys.setprofile(profile)
    try:
        result = call()
    finally:
        sys.setprofile(None)
    return result, order


def test_the_documented_token_path_is_the_one_a_code_redemption_takes(rp, browser, http):
    code, verifier = flows.get_code(browser)
    response, entered = entered_files(lambda: flows.redeem(http, code, verifier))
    assert response.status_code == 200
    documented = documented_path()
    assert documented, "no file list under 'A token request, file by file'"
    assert documented == [file for file in entered if file in documented]
