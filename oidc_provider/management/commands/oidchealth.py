"""``manage.py oidchealth``: the OP's health (docs/operations.md); exits 1 when something needs attention."""

import datetime as dt
import json
import sys

from django.core.management.base import BaseCommand

from oidc_provider import health
from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client


def when(value):
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if value else "-"


def relative(value, now):
    seconds = (value - now).total_seconds()
    return f"in {health.duration(seconds)}" if seconds >= 0 else f"{health.duration(-seconds)} ago"


class Command(BaseCommand):
    help = (
        "Show the OP's health: issuer, signing keys and the next rotation, clients, live OP sessions and "
        "grants, failed back-channel logout deliveries, the last clean-up. Exits with status 1, and one line "
        "per problem on stderr, when something needs attention. See docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the report as JSON, for monitoring."
        )

    def handle(self, *args, as_json=False, **opts):
        report = health.report()
        if as_json:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self.stdout.write("\n".join(self.lines(report)))
        for problem in report.problems:  # what needs attention, one line each
            self.stderr.write(problem.message)
        if not report.ok:
            sys.exit(1)

    @staticmethod
    def lines(report):
        now = report.generated_at
        lines = [f"Issuer: {report.issuer}", "Signing keys:"]
        for key in report.keys:
            note = {
                "current": key.rotation_due_at and f"rotation due {when(key.rotation_due_at)}",
                "next": key.can_sign_from and f"may sign from {when(key.can_sign_from)}",
                "retired": f"published until {when(key.remove_after)}",
            }[key.state]
            lines.append(f"  {key.kid}  {key.alg:<6} {key.state:<8} age {health.duration(key.age):<11} {note}")
        if not report.keys:
            lines.append("  none")
        upcoming = report.next_rotation
        if upcoming:
            due = upcoming.rotation_due_at
            lines.append(f"Next rotation: {upcoming.alg} key {upcoming.kid}, due {when(due)} ({relative(due, now)})")
        origins = dict(Client._meta.get_field("registered_via").flatchoices)
        by_origin = ", ".join(f"{origins.get(o, o)} {n}" for o, n in report.clients["by_origin"].items())
        lines.append(
            f"Clients: {report.clients['active']} active, {report.clients['inactive']} inactive"
            + (f" (by origin: {by_origin})" if by_origin else "")
        )
        lines.append(f"Live OP sessions: {report.live_op_sessions}")
        lines.append(f"Live grants: {report.live_grants}")
        failures = report.failures
        window = health.duration(oidc_settings.HEALTH_BACKCHANNEL_FAILURE_WINDOW)
        line = f"Back-channel logout failures: {failures.recent} in the last {window}, {failures.recorded} recorded"
        if failures.last:
            last = failures.last
            line += f"; last {when(last.created_at)}, {last.client_id}: {last.error}"
        lines.append(line)
        run = report.last_cleanup
        if run is None:
            lines.append("Last clean-up: never")
        else:
            removed = ", ".join(f"{name} {count}" for name, count in run.removed if count)
            lines.append(
                f"Last clean-up: {when(run.finished_at)} ({relative(run.finished_at, now)}), removed {run.total}"
                + (f" ({removed})" if removed else "")
            )
        plural = "s need" if len(report.problems) > 1 else " needs"
        lines.append(
            f"{len(report.problems)} problem{plural} attention:" if report.problems else "Nothing needs attention."
        )
        return lines
