"""The OP's health, for its operator (``manage.py oidchealth`` and the admin index; docs/operations.md).

One read of the rows: the issuer, the signing keys and when each algorithm rotates next, the
clients, the live OP sessions and grants, the failed back-channel logout deliveries and the last
clean-up; and the problems that need attention, one sentence each, with a stable code for monitoring.

Deliveries still waiting are not counted: the default dispatcher queues them in each worker's memory,
out of reach of another process. One it cannot queue is recorded as failed at once, and shows here.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from oidc_provider.conf import oidc_settings
from oidc_provider.models import BackchannelLogoutFailure, CleanupRun, Client, OPSession, SessionNode, SigningKey
from oidc_provider.storage.keys import STATE_ORDER, next_key_min_age

MAX_NAMED_CLIENTS = 5  # clients the back-channel problem names; "…" stands for the others


def duration(seconds) -> str:
    """``seconds`` in the largest whole unit: "3 days", "5 hours", "12 minutes"."""
    seconds = int(seconds)
    if seconds >= 86400:
        days = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if seconds >= 3600:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = seconds // 60
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


@dataclass(frozen=True)
class Problem:
    code: str  # stable, for monitoring: see docs/operations.md
    message: str


@dataclass(frozen=True)
class Key:
    kid: str
    alg: str
    state: str
    created_at: dt.datetime
    activated_at: dt.datetime | None
    age: int  # seconds since the key was created
    rotation_due_at: dt.datetime | None  # current keys: activation + KEY_ROTATION_PERIOD
    can_sign_from: dt.datetime | None  # next keys: once relying parties' cached JWKS hold them
    remove_after: dt.datetime | None  # retired keys


@dataclass(frozen=True)
class Failures:
    recorded: int  # every BackchannelLogoutFailure row (clearexpired removes old ones)
    recent: int  # within HEALTH_BACKCHANNEL_FAILURE_WINDOW
    recent_clients: list
    last: BackchannelLogoutFailure | None


@dataclass
class Report:
    generated_at: dt.datetime
    issuer: str
    keys: list
    clients: dict  # {"active": n, "inactive": n, "by_origin": {registered_via: n}}
    live_op_sessions: int
    live_grants: int
    failures: Failures
    last_cleanup: CleanupRun | None
    problems: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    @property
    def next_rotation(self) -> Key | None:
        due = [key for key in self.keys if key.rotation_due_at]
        return min(due, key=lambda key: key.rotation_due_at, default=None)

    def as_json(self) -> dict:
        def when(value):
            return value.astimezone(dt.UTC).isoformat() if value else None

        next_rotation = self.next_rotation
        last, run = self.failures.last, self.last_cleanup
        return {
            "ok": self.ok,
            "generated_at": when(self.generated_at),
            "issuer": self.issuer,
            "keys": [
                {
                    "kid": key.kid,
                    "alg": key.alg,
                    "state": key.state,
                    "created_at": when(key.created_at),
                    "activated_at": when(key.activated_at),
                    "age_seconds": key.age,
                    "rotation_due_at": when(key.rotation_due_at),
                    "can_sign_from": when(key.can_sign_from),
                    "remove_after": when(key.remove_after),
                }
                for key in self.keys
            ],
            "next_rotation": next_rotation
            and {"alg": next_rotation.alg, "kid": next_rotation.kid, "due_at": when(next_rotation.rotation_due_at)},
            "clients": self.clients,
            "live_op_sessions": self.live_op_sessions,
            "live_grants": self.live_grants,
            "backchannel_logout_failures": {
                "recorded": self.failures.recorded,
                "recent": self.failures.recent,
                "recent_window_seconds": oidc_settings.HEALTH_BACKCHANNEL_FAILURE_WINDOW,
                "recent_clients": self.failures.recent_clients,
                "last": last and {"at": when(last.created_at), "client_id": last.client_id, "error": last.error},
            },
            "last_cleanup": run
            and {
                "started_at": when(run.started_at),
                "finished_at": when(run.finished_at),
                "removed": run.counts,
                "total": run.total,
            },
            "problems": [{"code": problem.code, "message": problem.message} for problem in self.problems],
        }


def _keys(now):
    period = dt.timedelta(seconds=oidc_settings.KEY_ROTATION_PERIOD)
    min_age = dt.timedelta(seconds=next_key_min_age())
    algs = list(oidc_settings.SIGNING_ALGS)
    rows = sorted(
        SigningKey.objects.all(),
        key=lambda r: (algs.index(r.alg) if r.alg in algs else len(algs), r.alg, STATE_ORDER[r.state], r.created_at),
    )
    return [
        Key(
            kid=row.kid,
            alg=row.alg,
            state=row.state,
            created_at=row.created_at,
            activated_at=row.activated_at,
            age=int((now - row.created_at).total_seconds()),
            rotation_due_at=(row.activated_at or row.created_at) + period if row.state == SigningKey.CURRENT else None,
            can_sign_from=row.created_at + min_age if row.state == SigningKey.NEXT else None,
            remove_after=row.remove_after if row.state == SigningKey.RETIRED else None,
        )
        for row in rows
    ]


def _clients():
    counts = {"active": 0, "inactive": 0, "by_origin": {}}
    for row in Client.objects.values("is_active", "registered_via").annotate(n=Count("pk")).order_by():
        counts["active" if row["is_active"] else "inactive"] += row["n"]
        origin = counts["by_origin"]
        origin[row["registered_via"]] = origin.get(row["registered_via"], 0) + row["n"]
    counts["by_origin"] = dict(sorted(counts["by_origin"].items()))
    return counts


def _failures(now):
    since = now - dt.timedelta(seconds=oidc_settings.HEALTH_BACKCHANNEL_FAILURE_WINDOW)
    recent = BackchannelLogoutFailure.objects.filter(created_at__gte=since)
    return Failures(
        recorded=BackchannelLogoutFailure.objects.count(),
        recent=recent.count(),
        recent_clients=list(recent.order_by("client_id").values_list("client_id", flat=True).distinct()),
        last=BackchannelLogoutFailure.objects.order_by("-created_at", "-pk").first(),
    )


def report(now=None) -> Report:
    now = now or timezone.now()
    live_grant = Q(kind=SessionNode.GRANT, revoked=False) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    result = Report(
        generated_at=now,
        issuer=oidc_settings.ISSUER,
        keys=_keys(now),
        clients=_clients(),
        live_op_sessions=OPSession.objects.filter(ended_at__isnull=True).count(),
        live_grants=SessionNode.objects.filter(live_grant).count(),
        failures=_failures(now),
        last_cleanup=CleanupRun.objects.order_by("-finished_at", "-pk").first(),
    )
    result.problems = problems(result)
    return result


def problems(result: Report) -> list[Problem]:
    """What needs the operator's attention, in the order of the report."""
    now, found = result.generated_at, []
    current = {key.alg: key for key in result.keys if key.state == SigningKey.CURRENT}
    for alg in oidc_settings.SIGNING_ALGS:
        if alg not in current:
            message = gettext("No current %(alg)s signing key: run `manage.py rotatekeys`.") % {"alg": alg}
            found.append(Problem("signing_key_missing", message))
    for key in current.values():
        if key.rotation_due_at <= now:
            message = gettext(
                "The current %(alg)s signing key %(kid)s is past KEY_ROTATION_PERIOD (%(period)s): "
                "rotation was due %(late)s ago; run `manage.py rotatekeys --if-due`."
            ) % {
                "alg": key.alg,
                "kid": key.kid,
                "period": duration(oidc_settings.KEY_ROTATION_PERIOD),
                "late": duration((now - key.rotation_due_at).total_seconds()),
            }
            found.append(Problem("signing_key_rotation_overdue", message))
    if result.failures.recent:
        clients = result.failures.recent_clients
        named = ", ".join(clients[:MAX_NAMED_CLIENTS]) + (", …" if len(clients) > MAX_NAMED_CLIENTS else "")
        message = ngettext(
            "%(count)d back-channel logout delivery failed in the last %(window)s (clients: %(clients)s).",
            "%(count)d back-channel logout deliveries failed in the last %(window)s (clients: %(clients)s).",
            result.failures.recent,
        ) % {
            "count": result.failures.recent,
            "window": duration(oidc_settings.HEALTH_BACKCHANNEL_FAILURE_WINDOW),
            "clients": named,
        }
        found.append(Problem("backchannel_logout_failing", message))
    run = result.last_cleanup
    if run is None:
        message = gettext("No clean-up has run: schedule `manage.py clearexpired` (docs/deployment.md).")
        found.append(Problem("cleanup_never_run", message))
    elif (now - run.finished_at).total_seconds() > oidc_settings.HEALTH_CLEANUP_MAX_AGE:
        message = gettext(
            "The last clean-up finished %(ago)s ago, longer than HEALTH_CLEANUP_MAX_AGE (%(max)s): "
            "check that `manage.py clearexpired` runs."
        ) % {
            "ago": duration((now - run.finished_at).total_seconds()),
            "max": duration(oidc_settings.HEALTH_CLEANUP_MAX_AGE),
        }
        found.append(Problem("cleanup_overdue", message))
    return found
