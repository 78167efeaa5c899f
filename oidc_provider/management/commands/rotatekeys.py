"""``manage.py rotatekeys``: one step of the signing keys' life cycle; safe to run from cron."""

from django.core.management.base import BaseCommand, CommandError

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.keys import SUPPORTED_ALGS, default_retirement_period, reencrypt_keys, rotate_keys


class Command(BaseCommand):
    help = (
        "Rotate the OP's signing keys: each algorithm's next key becomes current, the current key is retired "
        "(still published) and a new next key is published; retired keys past their time are removed. "
        "Workers pick the change up within KEYS_REFRESH_INTERVAL seconds. See docs/keys.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--alg",
            action="append",
            choices=SUPPORTED_ALGS,
            dest="algs",
            help="Only this algorithm (repeatable). Default: every algorithm that has keys or is configured.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would be done; change nothing.")
        parser.add_argument(
            "--retire-after",
            type=int,
            metavar="SECONDS",
            help="How long the retired keys stay published (default: the longest token lifetime "
            "plus KEYS_REFRESH_INTERVAL, or KEY_RETIREMENT_PERIOD). 0 removes them at once.",
        )
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="Only replace current keys older than KEY_ROTATION_PERIOD (for a daily cron job).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Promote a next key even if relying parties may not have fetched it yet "
            "(a compromised key). Tokens signed with the new key may fail at RPs with a stale JWKS cache.",
        )
        parser.add_argument(
            "--reencrypt",
            action="store_true",
            help="Only re-encrypt every private key (and client_secret_jwt secret) with the current "
            "KEY_ENCRYPTION_SECRET.",
        )

    def handle(
        self, *args, algs=None, dry_run=False, retire_after=None, if_due=False, force=False, reencrypt=False, **opts
    ):
        if reencrypt:
            if dry_run:
                raise CommandError("--reencrypt has no dry run")
            try:
                count = reencrypt_keys()
            except ValueError as err:
                raise CommandError(str(err)) from err
            self.stdout.write(f"re-encrypted {count} key(s) with the current KEY_ENCRYPTION_SECRET")
            return
        if retire_after is not None and retire_after < 0:
            raise CommandError("--retire-after must be 0 or more seconds")
        lines = rotate_keys(algs, retire_after=retire_after, force=force, if_due=if_due, dry_run=dry_run)
        prefix = "[dry run] " if dry_run else ""
        for line in lines or ["nothing to do"]:
            self.stdout.write(prefix + line)
        if not dry_run and lines:
            self.stdout.write(
                f"Workers use the new keys within {oidc_settings.KEYS_REFRESH_INTERVAL} s; retired keys stay published "
                f"{default_retirement_period() if retire_after is None else retire_after} s."
            )
