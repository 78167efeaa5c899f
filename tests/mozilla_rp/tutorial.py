"""The blocks of docs/tutorial-mozilla-django-oidc.md, with the page's addresses replaced by the live
servers' and its project package, ``mysite``, by this one."""

import os
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorial-mozilla-django-oidc.md"
OP_ORIGIN = "http://127.0.0.1:8000"  # the demo OP the page names
RP_ORIGIN = "http://localhost:8001"  # the page's site
# a block the site runs: an HTML comment naming it right before its fence
BLOCK = re.compile(r"^<!-- tutorial: (\w+) -->\n```\w*\n(.*?)^```", re.S | re.M)


def page(op_origin: str, rp_origin: str) -> str:
    text = PAGE.read_text().replace(OP_ORIGIN, op_origin).replace(RP_ORIGIN, rp_origin)
    return re.sub(r"\bmysite\b", "tests.mozilla_rp", text)


def blocks(text: str) -> dict[str, str]:
    found = {}
    for name, body in BLOCK.findall(text):
        if name in found:
            raise ValueError(f"two tutorial blocks named {name!r}")
        found[name] = body
    return found


def live_block(name: str) -> str:
    """The block as the live site runs it, at the addresses the test gives it in its environment."""
    return blocks(page(os.environ["MOZILLA_RP_OP_ORIGIN"], os.environ["MOZILLA_RP_ORIGIN"]))[name]
