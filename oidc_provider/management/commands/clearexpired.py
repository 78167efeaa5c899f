"""``manage.py clearexpired``: remove expired and revoked rows in small batches; safe to run from cron."""

import time

from django.core.management.base import BaseCommand, CommandError

from oidc_provider.cleanup import DEFAULT_BATCH_SIZE, clear_expired


class Command(BaseCommand):
    help = (
        "Remove expired and revoked grants (with their tokens), client and user sessions left without grants, "
        "expired consents, ended OP sessions older than SESSION_COOKIE_AGE, used or expired initial access "
        "tokens, expired client-assertion jti records and old back-channel logout failures. "
        "Rows go in batches, one short transaction each; each completed run is recorded for `oidchealth`. "
        "See docs/deployment.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count what would be removed now (sessions that the removal of their grants "
            "would leave empty are not counted).",
        )

    def handle(self, *args, batch_size=DEFAULT_BATCH_SIZE, dry_run=False, **opts):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        verb = "would remove" if dry_run else "removed"
        start = time.monotonic()

        def report(name, count):
            self.stdout.write(f"{name}: {verb} {count}")

        counts = clear_expired(batch_size=batch_size, dry_run=dry_run, report=report)
        self.stdout.write(f"total: {verb} {sum(counts.values())} in {time.monotonic() - start:.1f}s")
