"""The look of the OP's pages (``oidc_provider/page.css``) meets WCAG 2.2 AA: text contrast at least
4.5:1 (1.4.3), the boundaries of controls and the focus indicator at least 3:1 (1.4.11), a focus
indicator on every control (2.4.7); and on a phone the card keeps a margin to the screen's edges.

Colours live in ``:root`` custom properties only, and each one used is in a pair checked here, so a
colour changed or added later cannot break AA unnoticed."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CSS = (
    Path(__file__).resolve().parent.parent / "oidc_provider" / "templates" / "oidc_provider" / "page.css"
).read_text()
TEXT, UI = 4.5, 3.0

# (foreground, background, minimum): where each colour meets which
PAIRS = [
    ("text", "surface", TEXT),  # the card's text, the secondary button's label
    ("text", "page", TEXT),  # the brand header, outside the card
    ("muted", "surface", TEXT),
    ("link", "surface", TEXT),
    ("link", "notice", TEXT),
    ("text", "control-hover", TEXT),  # a secondary button under the pointer
    ("on-primary", "primary", TEXT),
    ("on-primary", "primary-hover", TEXT),
    ("notice-text", "notice", TEXT),
    ("control-border", "surface", UI),  # the secondary (Deny, Stay signed in) button's boundary
    ("control-border", "control-hover", UI),
    ("primary", "surface", UI),  # the primary button's boundary is its background
    ("primary-hover", "surface", UI),
    ("focus", "surface", UI),
    ("focus", "page", UI),
    ("notice-border", "surface", UI),
]
DECORATIVE = {"rule"}  # the card's edge: the card is not a control (WCAG 1.4.11 exempts it)


def luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour ``#rgb`` or ``#rrggbb``."""
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def root_colours(css: str) -> dict:
    [block] = re.findall(r":root\s*\{([^}]*)\}", css)
    return dict(re.findall(r"--([a-z-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\s*;", block))


def rules(css: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule outside ``:root``, those inside ``@media`` included."""
    body = re.sub(r":root\s*\{[^}]*\}", "", css)
    body = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^}]*\})*)\s*\}", r"\1", body)
    return [(s.strip(), d) for s, d in re.findall(r"([^{}]+)\{([^}]*)\}", body)]


def used(prop_pattern: str) -> set:
    """The custom properties the declarations matching ``prop_pattern`` use."""
    found = set()
    for _, declarations in rules(CSS):
        for prop, value in re.findall(r"([a-z-]+)\s*:\s*([^;]+)", declarations):
            if re.fullmatch(prop_pattern, prop):
                found |= set(re.findall(r"var\(--([a-z-]+)\)", value))
    return found


def test_contrast_is_computed_as_wcag_says():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)
    assert round(contrast("#99a", "#fff"), 2) == 2.8  # the old Deny border this test would refuse
    assert round(contrast("#767676", "#fff"), 2) == 4.54  # the lightest grey that passes on white


@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_every_colour_pair_meets_wcag_aa(foreground, background, minimum):
    colours = root_colours(CSS)
    ratio = contrast(colours[foreground], colours[background])
    assert ratio >= minimum, f"--{foreground} on --{background}: {ratio:.2f}:1 < {minimum}:1"


def test_colours_are_only_in_root_and_each_is_checked():
    colours = root_colours(CSS)
    outside = re.sub(r":root\s*\{[^}]*\}", "", CSS)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", outside) == []
    in_pairs = {name for pair in PAIRS for name in pair[:2]}
    assert set(colours) == in_pairs | DECORATIVE
    assert used("color") <= {fg for fg, _, m in PAIRS if m == TEXT}  # every text colour is paired
    assert used("border(-[a-z]+)*|outline") <= {fg for fg, _, m in PAIRS if m == UI} | DECORATIVE
    assert used("background(-color)?") <= {bg for _, bg, _ in PAIRS}


def test_the_secondary_button_has_a_boundary_and_every_control_a_focus_ring():
    declarations = dict(rules(CSS))
    assert "border: 2px solid var(--control-border)" in declarations["button, .button"]
    assert "outline: 3px solid var(--focus)" in declarations["a:focus-visible, button:focus-visible"]


PHONE_WIDTH = 360
MEASURE = """<!doctype html><html><body style="margin:0"><iframe id="f" style="width:%dpx;height:800px;border:0"
srcdoc="%s"></iframe><script>window.addEventListener("load", function () {
  var d = document.getElementById("f").contentDocument, card = d.querySelector("main").getBoundingClientRect();
  var widest = 0;
  d.querySelectorAll("main *").forEach(function (e) { widest = Math.max(widest, e.getBoundingClientRect().right); });
  document.body.setAttribute("data-layout", [card.left, d.documentElement.clientWidth - card.right,
    d.documentElement.scrollWidth, Math.ceil(widest - card.right)].join(","));
});</script></body></html>"""


@pytest.fixture
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reason = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("OIDC_TEST_REQUIRE_BROWSER") == "1":  # CI: a missing browser fails, as in tests/browser
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


def layout(chromium, html: str, tmp_path) -> list[float]:
    """(left margin, right margin, document width, overflow of the card's content) of ``html`` at a
    phone's width, as Chromium lays it out."""
    page = tmp_path / "measure.html"
    page.write_text(MEASURE % (PHONE_WIDTH, html.replace("&", "&amp;").replace('"', "&quot;")))
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [float(x) for x in re.search(r'data-layout="([^"]+)"', dom)[1].split(",")]


def test_on_a_phone_the_card_keeps_a_margin(chromium, tmp_path):
    """At 360 px the card stands 16 px off each edge; a long host name wraps instead of widening it."""
    from django.template.loader import render_to_string

    html = render_to_string(
        "oidc_provider/signed_out.html",
        {"continue_url": "https://x.example/", "host": "a" * 60 + ".example", "vetted": False},
    )
    left, right, width, overflow = layout(chromium, html, tmp_path)
    assert (left, right, width) == (16, 16, PHONE_WIDTH) and overflow <= 0
