"""The SQL statements one request of each kind costs our OP (in-process, Django test client):
evidence for where the per-request time goes. Run with the peer's environment after setup:

    python queries.py FIXTURE
"""

import json
import re
import sys
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import django

django.setup()

import bench_common as bc  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as Browser  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def _literal(match):
    """Session-tree keys say which node they name; every other literal becomes ?."""
    value = match.group(1)
    if ";;" in value:
        return "<grant key>" if value.count(";;") == 2 else "<client-session key>"
    if value.isdigit():
        return "<user key>"
    if len(value) > 80:
        return "<encrypted session id>"
    return "?"


def shape(sql):
    """A statement without its literals, cut to what tells queries apart."""
    sql = re.sub(r"'([^']*)'", _literal, sql)
    sql = re.sub(r"SELECT (?!COUNT).*? FROM", "SELECT … FROM", sql)
    sql = re.sub(r"SET .*? WHERE", "SET … WHERE", sql)
    sql = re.sub(r"\(\"key\".*?VALUES .*", "(…) VALUES (…)", sql)
    sql = re.sub(r"ORDER BY .*?(LIMIT|FOR|$)", r"ORDER BY … \1", sql)
    return sql.replace('"oidc_provider_', '"').replace('"', "").replace("::timestamptz", "")[:150]


def report(name, run):
    with CaptureQueriesContext(connection) as captured:
        result = run()
    counts = Counter(shape(q["sql"]) for q in captured.captured_queries)
    print(f"{name}: {len(captured.captured_queries)} statements")
    for sql, n in counts.items():
        print(f"  {n}x {sql}")
    return result


def main():
    fixture = json.load(open(sys.argv[1]))
    var = fixture["variants"]["default"]
    browser = Browser()
    browser.force_login(get_user_model().objects.get(username=f"{bc.USERNAME}{bc.USERS - 1}"))
    url = f"{fixture['paths']['authorize']}?{bc.authorize_query(var['client_id'])}"
    browser.get(url)  # builds the server, warms caches
    response = report("authorize (logged in, no consent)", lambda: browser.get(url))
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": bc.REDIRECT_URI,
        "code_verifier": bc.CODE_VERIFIER,
    }
    auth = bc.basic_auth(var["client_id"], var["client_secret"])
    response = report(
        "token (authorization_code)", lambda: Browser().post(fixture["paths"]["token"], form, HTTP_AUTHORIZATION=auth)
    )
    bearer = "Bearer " + response.json()["access_token"]
    report("userinfo", lambda: Browser().get(fixture["paths"]["userinfo"], HTTP_AUTHORIZATION=bearer))
    report("discovery", lambda: Browser().get(fixture["paths"]["discovery"]))


main()
