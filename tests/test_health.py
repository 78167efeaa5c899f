"""The operator's view (issue 18, part 7): ``manage.py oidchealth``, its JSON, the record of each clean-up
run, and the same report on the admin index. Each problem makes the command exit 1 with its exact line."""

import datetime as dt
import io
import json
import re
import secrets

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client as Browser
from django.urls import path
from django.utils import timezone

from oidc_provider import cleanup, health
from oidc_provider.checks import check_algorithms
from oidc_provider.models import (
    BackchannelLogoutFailure,
    CleanupRun,
    Client,
    OPSession,
    SessionNode,
    SigningKey,
)
from oidc_provider.storage.keys import ensure_signing_keys
from tests.test_example_project import manage

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
ALGS = ["RS256", "PS256", "ES256", "EdDSA"]


@pytest.fixture(autouse=True)
def fresh_keys():
    """A current and a next key per algorithm, made now (the test database's keys are as old as the run)."""
    SigningKey.objects.all().delete()
    ensure_signing_keys()


def healthy():
    cleanup.clear_expired()


def run(*args):
    """(exit status, stdout, stderr) of ``oidchealth``."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("oidchealth", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit:
        status = exit.code
    return status, out.getvalue(), err.getvalue()


def current(alg):
    return SigningKey.objects.get(alg=alg, state=SigningKey.CURRENT)


def test_a_healthy_op_exits_0_and_says_nothing_needs_attention():
    healthy()
    status, out, err = run()
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "Issuer: http://testserver/oidc"
    assert out.splitlines()[-1] == "Nothing needs attention."
    for alg in ALGS:
        assert re.search(rf"^  {current(alg).kid}  {alg:<6} current  age 0 minutes +rotation due ", out, re.M), out
    assert "Next rotation: RS256 key" in out and "(in 89 days)" in out
    assert "Last clean-up: " in out and "removed 0" in out


def test_a_key_past_its_rotation_age_is_a_problem():
    healthy()
    key = current("RS256")
    SigningKey.objects.filter(pk=key.pk).update(activated_at=timezone.now() - 93 * DAY)
    status, out, err = run()
    assert status == 1
    assert err.splitlines() == [
        f"The current RS256 signing key {key.kid} is past KEY_ROTATION_PERIOD (90 days): rotation was due "
        "3 days ago; run `manage.py rotatekeys --if-due`."
    ]
    assert out.splitlines()[-1] == "1 problem needs attention:"


def test_the_rotation_age_is_the_setting(settings):
    healthy()
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ROTATION_PERIOD": 3600}
    SigningKey.objects.filter(state=SigningKey.CURRENT).update(activated_at=timezone.now() - dt.timedelta(hours=3))
    status, _, err = run()
    assert status == 1
    assert [line.split(" signing key ")[0] for line in err.splitlines()] == [f"The current {alg}" for alg in ALGS]
    assert all("(1 hour): rotation was due 2 hours ago" in line for line in err.splitlines())


def test_a_configured_algorithm_without_a_current_key_is_a_problem():
    healthy()
    current("ES256").delete()
    status, _, err = run()
    assert (status, err.splitlines()) == (1, ["No current ES256 signing key: run `manage.py rotatekeys`."])


def test_a_clean_up_that_never_ran_is_a_problem():
    status, out, err = run()
    assert status == 1
    assert err.splitlines() == ["No clean-up has run: schedule `manage.py clearexpired` (docs/deployment.md)."]
    assert "Last clean-up: never" in out


def test_a_clean_up_older_than_the_threshold_is_a_problem():
    now, removed = timezone.now(), [["grants", 4], ["consents", 0]]
    CleanupRun.objects.create(started_at=now - 3 * DAY, finished_at=now - 3 * DAY, removed=removed)
    status, out, err = run()
    assert status == 1
    assert err.splitlines() == [
        "The last clean-up finished 3 days ago, longer than HEALTH_CLEANUP_MAX_AGE (2 days): "
        "check that `manage.py clearexpired` runs."
    ]
    assert "(3 days ago), removed 4 (grants 4)" in out


def test_the_clean_up_threshold_is_a_setting(settings):
    now = timezone.now()
    CleanupRun.objects.create(started_at=now - 3 * DAY, finished_at=now - 3 * DAY, removed=[])
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "HEALTH_CLEANUP_MAX_AGE": 4 * 86400}
    assert run()[0] == 0
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "HEALTH_CLEANUP_MAX_AGE": 3600}
    status, _, err = run()
    assert status == 1 and "HEALTH_CLEANUP_MAX_AGE (1 hour)" in err


def failure(client_id, age=dt.timedelta(0), error="HTTP 500"):
    row = BackchannelLogoutFailure.objects.create(client_id=client_id, uri="https://rp/bc", attempts=3, error=error)
    BackchannelLogoutFailure.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_recent_back_channel_failures_are_a_problem():
    healthy()
    failure("rp2")
    failure("rp1", dt.timedelta(hours=2))
    failure("old", 2 * DAY)  # recorded, but not recent
    status, out, err = run()
    assert status == 1
    assert err.splitlines() == [
        "2 back-channel logout deliveries failed in the last 1 day (clients: rp1, rp2).",
    ]
    line = next(line for line in out.splitlines() if line.startswith("Back-channel"))
    assert re.fullmatch(
        r"Back-channel logout failures: 2 in the last 1 day, 3 recorded; last [-\d :]+ UTC, rp2: HTTP 500", line
    )


def test_one_failure_is_one_delivery_and_many_clients_are_cut_short():
    healthy()
    failure("rp1")
    assert run()[2] == "1 back-channel logout delivery failed in the last 1 day (clients: rp1).\n"
    for i in range(2, 8):
        failure(f"rp{i}")
    assert (
        run()[2] == "7 back-channel logout deliveries failed in the last 1 day (clients: rp1, rp2, rp3, rp4, rp5, …).\n"
    )


def test_the_failure_window_is_a_setting(settings):
    healthy()
    failure("rp1", dt.timedelta(hours=2))
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "HEALTH_BACKCHANNEL_FAILURE_WINDOW": 3600}
    assert run()[0] == 0


def test_every_problem_at_once_one_line_each():
    key = current("PS256")
    SigningKey.objects.filter(pk=key.pk).update(activated_at=timezone.now() - 91 * DAY)
    failure("rp1")
    status, out, err = run()
    assert status == 1 and out.splitlines()[-1] == "3 problems need attention:"
    assert [line.split(" ")[:3] for line in err.splitlines()] == [
        ["The", "current", "PS256"],
        ["1", "back-channel", "logout"],
        ["No", "clean-up", "has"],
    ]


def test_counts_of_clients_sessions_and_grants():
    now = timezone.now()
    Client.objects.create(client_id="a")
    Client.objects.create(client_id="b", registered_via="command")
    Client.objects.create(client_id="c", registered_via="registration", is_active=False)
    OPSession.objects.create(key="live", user_id="1")
    OPSession.objects.create(key="ended", user_id="1", ended_at=now)
    for key, fields in {
        "u;;a;;live": {"expires_at": now + DAY},
        "u;;a;;forever": {},
        "u;;a;;expired": {"expires_at": now - DAY},
        "u;;a;;revoked": {"revoked": True},
    }.items():
        SessionNode.objects.create(key=key, kind=SessionNode.GRANT, user_id="u", class_name="x", data={}, **fields)
    SessionNode.objects.create(key="u", kind=SessionNode.USER, user_id="u", class_name="x", data={})
    report = health.report()
    assert report.clients == {"active": 2, "inactive": 1, "by_origin": {"admin": 1, "command": 1, "registration": 1}}
    assert (report.live_op_sessions, report.live_grants) == (1, 2)
    out = run()[1]
    assert "Clients: 2 active, 1 inactive (by origin: admin 1, createclient 1, dynamic registration 1)" in out
    assert "Live OP sessions: 1\nLive grants: 2\n" in out


def test_json_for_monitoring():
    healthy()
    failure("rp1")
    key = current("RS256")
    status, out, err = run("--json")
    assert status == 1 and err.splitlines() == [
        "1 back-channel logout delivery failed in the last 1 day (clients: rp1)."
    ]
    report = json.loads(out)
    assert report["ok"] is False and report["issuer"] == "http://testserver/oidc"
    assert report["problems"] == [
        {
            "code": "backchannel_logout_failing",
            "message": "1 back-channel logout delivery failed in the last 1 day (clients: rp1).",
        }
    ]
    assert {(k["alg"], k["state"]) for k in report["keys"]} == {(a, s) for a in ALGS for s in ("current", "next")}
    rs256 = next(k for k in report["keys"] if k["kid"] == key.kid)
    due = key.activated_at + dt.timedelta(days=90)
    assert rs256["rotation_due_at"] == due.astimezone(dt.UTC).isoformat() and rs256["can_sign_from"] is None
    assert report["next_rotation"]["alg"] == "RS256"
    assert report["backchannel_logout_failures"] | {"last": None} == {
        "recorded": 1,
        "recent": 1,
        "recent_window_seconds": 86400,
        "recent_clients": ["rp1"],
        "last": None,
    }
    assert report["backchannel_logout_failures"]["last"]["error"] == "HTTP 500"
    assert report["last_cleanup"]["total"] == 0
    assert list(report["last_cleanup"]["removed"]) == [target.name for target in cleanup.targets()]
    assert set(report) == {
        "ok",
        "generated_at",
        "issuer",
        "keys",
        "next_rotation",
        "clients",
        "live_op_sessions",
        "live_grants",
        "backchannel_logout_failures",
        "last_cleanup",
        "problems",
    }


@pytest.mark.parametrize(
    "code",
    ["signing_key_missing", "signing_key_rotation_overdue", "backchannel_logout_failing", "cleanup_never_run"],
)
def test_each_problem_has_its_code_in_json(code):
    {
        "signing_key_missing": lambda: current("EdDSA").delete(),
        "signing_key_rotation_overdue": lambda: SigningKey.objects.filter(state="current", alg="RS256").update(
            activated_at=timezone.now() - 100 * DAY
        ),
        "backchannel_logout_failing": lambda: failure("rp1"),
        "cleanup_never_run": CleanupRun.objects.all().delete,
    }[code]()
    if code != "cleanup_never_run":
        healthy()
    status, out, _ = run("--json")
    assert status == 1 and [p["code"] for p in json.loads(out)["problems"]] == [code]


def test_cleanup_overdue_code_in_json():
    CleanupRun.objects.create(started_at=timezone.now() - 5 * DAY, finished_at=timezone.now() - 5 * DAY, removed=[])
    assert [p["code"] for p in json.loads(run("--json")[1])["problems"]] == ["cleanup_overdue"]


@pytest.mark.parametrize("key", ["HEALTH_CLEANUP_MAX_AGE", "HEALTH_BACKCHANNEL_FAILURE_WINDOW"])
@pytest.mark.parametrize("value", [-1, "2 days", None])
def test_bad_thresholds_are_reported_by_check(settings, key, value):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, key: value}
    assert [(e.id, e.msg) for e in check_algorithms()] == [
        ("oidc_provider.E010", f"OIDC_PROVIDER: {key} must be numbers of seconds (bytes), not negative.")
    ]


def test_the_report_is_nine_queries_whatever_the_rows(django_assert_num_queries):
    """What each visit of the admin index costs (docs/operations.md), with rows of every kind."""
    healthy()
    failure("rp1")
    Client.objects.create(client_id="a")
    with django_assert_num_queries(9):
        health.report()


# --- the record of each clean-up run ---------------------------------------------------------------


def test_each_clean_up_run_is_recorded_with_what_it_removed():
    SessionNode.objects.create(
        key="u;;c;;g", kind=SessionNode.GRANT, user_id="u", class_name="x", data={}, revoked=True
    )
    before = timezone.now()
    call_command("clearexpired", stdout=io.StringIO())
    run_ = CleanupRun.objects.get()
    assert before <= run_.started_at <= run_.finished_at <= timezone.now()
    assert run_.counts["grants"] == 1 and run_.total == 1
    assert [kind for kind, _ in run_.removed] == [target.name for target in cleanup.targets()]


def test_a_dry_run_is_not_recorded():
    call_command("clearexpired", "--dry-run", stdout=io.StringIO())
    assert not CleanupRun.objects.exists()


def test_only_the_latest_runs_are_kept(monkeypatch):
    monkeypatch.setattr(cleanup, "KEPT_RUNS", 2)
    for _ in range(4):
        cleanup.clear_expired()
    assert CleanupRun.objects.count() == 2
    newest = CleanupRun.objects.order_by("-pk")[:2]
    assert set(CleanupRun.objects.all()) == set(newest)


# --- the admin index -------------------------------------------------------------------------------


def index(user):
    browser = Browser()
    browser.force_login(user)
    response = browser.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password=secrets.token_urlsafe(), is_staff=True)


def test_the_admin_index_shows_the_report_with_its_problems_highlighted(admin_user):
    key = current("RS256")
    failure("rp<b>1</b>", error="<script>alert(1)</script>")  # a client id and error are shown escaped
    page = index(admin_user)
    panel = page.split('<div class="module" id="oidc-health">', 1)[1].split('<div id="content-main"', 1)[0]
    problems = re.findall(r'<li class="error" data-problem="([a-z_]+)">([^<]*)</li>', panel)
    assert [code for code, _ in problems] == ["backchannel_logout_failing", "cleanup_never_run"]
    assert problems[0][1] == (
        "1 back-channel logout delivery failed in the last 1 day (clients: rp&lt;b&gt;1&lt;/b&gt;)."
    )
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "<code>http://testserver/oidc</code>" in panel and f"<code>{key.kid}</code>" in panel
    assert "never" in panel and 'id="oidc-health-keys"' in panel
    assert "oidc_provider/admin/health.css" in page
    assert '<div id="content-main"' in page  # the admin's own index follows (a class on Django 6.1)


def test_a_healthy_op_shows_nothing_needs_attention(admin_user):
    healthy()
    Client.objects.create(client_id="a", registered_via="registration")
    panel = index(admin_user).split('id="oidc-health"', 1)[1]
    assert '<li class="success">Nothing needs attention.</li>' in panel
    assert re.search(r'id="oidc-health-clients">\s*1 active, 0 inactive \(dynamic registration: 1\)</td>', panel)
    assert 'class="error"' not in panel


def test_staff_without_view_permission_see_no_report(staff):
    assert 'id="oidc-health"' not in index(staff)


def test_staff_with_view_permission_on_the_models_see_it(staff):
    models = ["client", "signingkey", "sessionnode", "backchannellogoutfailure"]
    staff.user_permissions.add(*Permission.objects.filter(codename__in=[f"view_{m}" for m in models[:-1]]))
    assert 'id="oidc-health"' not in index(staff)  # one summarised model it may not view
    staff.user_permissions.add(Permission.objects.get(codename="change_backchannellogoutfailure"))
    assert 'id="oidc-health"' in index(type(staff).objects.get(pk=staff.pk))


def test_links_only_to_the_pages_the_admin_site_has(admin_user, settings):
    """An admin site where the OP's models are not registered still shows the report, without links."""
    settings.ROOT_URLCONF = "tests.test_health"
    page = index(admin_user)
    assert '<div class="module" id="oidc-health">' in page and "/oidc_provider/" not in page
    assert "<caption>Signing keys</caption>" in page


class BareSite(AdminSite):
    """An admin site with none of the OP's models."""


urlpatterns = [path("admin/", BareSite().urls)]

# --- a real process ----------------------------------------------------------------------------------


def test_manage_py_exit_status(tmp_path):
    """The status a cron job or a monitor sees: 1 with the reason on stderr, then 0 once clean-up ran."""
    assert manage(tmp_path, {}, "migrate", "--no-input")[0] == 0
    code, output = manage(tmp_path, {}, "oidchealth")
    assert code == 1 and "No clean-up has run: schedule `manage.py clearexpired` (docs/deployment.md)." in output
    assert manage(tmp_path, {}, "clearexpired")[0] == 0
    code, output = manage(tmp_path, {}, "oidchealth", "--json")
    assert code == 0, output
    assert json.loads(output)["ok"] is True
