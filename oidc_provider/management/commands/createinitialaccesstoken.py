"""``manage.py createinitialaccesstoken``: mint a token that lets its holder register clients."""

from django.core.management.base import BaseCommand, CommandError

from oidc_provider.conf import oidc_settings
from oidc_provider.models import InitialAccessToken


class Command(BaseCommand):
    help = (
        "Create an initial access token for dynamic client registration (RFC 7591 §3; "
        'OIDC_PROVIDER["REGISTRATION_POLICY"] = "initial_access_token"). Prints the token once.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--description", default="", help="Who the token is for (shown in the admin).")
        parser.add_argument("--uses", type=int, default=1, help="How many clients it may register (default 1).")
        parser.add_argument("--expires-in", type=int, default=None, help="Seconds until it expires (default: never).")

    def handle(self, *args, **opts):
        if len(opts["description"]) > 255:
            raise CommandError("--description must be at most 255 characters")
        if opts["uses"] < 1:
            raise CommandError("--uses must be at least 1")
        if opts["expires_in"] is not None and opts["expires_in"] < 1:
            raise CommandError("--expires-in must be a positive number of seconds")
        _, token = InitialAccessToken.mint(opts["description"], opts["uses"], opts["expires_in"])
        self.stdout.write(f"initial_access_token={token}")
        self.stdout.write(self.style.WARNING("Store the token now: it is kept only as a hash."))
        if oidc_settings.REGISTRATION_POLICY != "initial_access_token":
            self.stdout.write(
                self.style.WARNING(
                    f'REGISTRATION_POLICY is "{oidc_settings.REGISTRATION_POLICY}": the token is not asked for.'
                )
            )
