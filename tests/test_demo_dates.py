"""The demo's result page shows the epoch claims (iat, exp, auth_time, updated_at) also as UTC dates
(issue 18, part 8); a value that is no usable number shows as it came, without a date. Rendered by the
example project itself (manage.py in a subprocess), its time zone set elsewhere than UTC."""

from tests.test_example_project import manage

CLAIMS = {
    "iat": 1767225600,  # 2026-01-01 00:00:00 UTC
    "exp": 1767229200.5,
    "auth_time": 0,
    "updated_at": "1767225600",  # a string, not a number
    "nbf": 1767225600,  # not one of the four
    "sub": "1767225600",
}
USERINFO = {"updated_at": 10**20, "name": "<b>Carol</b>"}  # far beyond the year 9999
RENDER = f"""
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from example_project.demo.views import _rows
timezone.activate("Europe/Paris")
context = {{"issuer": "https://op.example", "id_token": _rows({CLAIMS!r}), "userinfo": _rows({USERINFO!r})}}
print(render_to_string("demo/rp_result.html", context))
"""


def dates(page):
    """(claim, its <time> element's attributes and text, or None) for the ID token's and userinfo's rows."""
    rows = []
    for section in page.split("<h2>")[1:3]:
        for row in section.split("<tr>")[1:]:
            name = row.split("<th>", 1)[1].split("</th>", 1)[0]
            rows.append((name, row.split("<time", 1)[1].split("</time>", 1)[0] if "<time" in row else None))
    return rows


def test_epoch_claims_show_their_utc_date(tmp_path):
    code, page = manage(tmp_path, {}, "shell", "-c", RENDER)
    assert code == 0, page
    assert dates(page) == [
        ("iat", ' class="muted" datetime="2026-01-01T00:00:00+00:00">2026-01-01 00:00:00 UTC'),
        ("exp", ' class="muted" datetime="2026-01-01T01:00:00.500000+00:00">2026-01-01 01:00:00 UTC'),
        ("auth_time", ' class="muted" datetime="1970-01-01T00:00:00+00:00">1970-01-01 00:00:00 UTC'),
        ("updated_at", None),
        ("nbf", None),
        ("sub", None),
        ("updated_at", None),
        ("name", None),
    ]
    assert "<td><code>1767225600</code> <time" in page  # the value itself stays
    assert "<td><code>100000000000000000000</code></td>" in page and "&lt;b&gt;Carol&lt;/b&gt;" in page
