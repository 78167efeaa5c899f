"""Create the demo user and the demo client. Safe to run repeatedly."""

import datetime

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from example_project.demo.models import DemoProfile
from example_project.demo.rp import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SCOPE, site_origin

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"

# A value for every standard claim of the profile, email, address and phone scopes
# (the Django user supplies name, given_name, family_name, preferred_username and email).
DEMO_PROFILE = {
    "middle_name": "Quincy",
    "nickname": "Ada",
    "profile": "https://example.org/people/ada",
    "picture": "https://example.org/people/ada/picture.png",
    "website": "https://example.org/~ada",
    "gender": "female",
    "birthdate": datetime.date(1990, 12, 10),
    "zoneinfo": "Europe/London",
    "locale": "en-GB",
    "formatted": "12 Analytical Row\nLondon SW1A 1AA\nUnited Kingdom",
    "street_address": "12 Analytical Row",
    "locality": "London",
    "region": "Greater London",
    "postal_code": "SW1A 1AA",
    "country": "United Kingdom",
    "phone_number": "+44 20 7946 0000",
    "phone_number_verified": True,
}


class Command(BaseCommand):
    help = "Create the demo user (demo/demo) and the demo relying party client (idempotent)."

    def handle(self, *args, **options):
        origin = site_origin()
        with transaction.atomic():
            user = self._ensure_user()
        self._ensure_client(origin)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: open {origin}/ and sign in as "
                f"{DEMO_USERNAME!r} with password {DEMO_PASSWORD!r} (user id {user.pk})."
            )
        )

    def _ensure_user(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada.lovelace@example.org",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            self.stdout.write(f"Created user {DEMO_USERNAME!r} (password {DEMO_PASSWORD!r}).")
        else:
            self.stdout.write(f"User {DEMO_USERNAME!r} already exists.")

        profile, created = DemoProfile.objects.get_or_create(user=user, defaults=DEMO_PROFILE)
        if created:
            self.stdout.write("Created the demo user's profile (all standard claims filled in).")
        else:
            # Fill in anything that was blanked, keep what was edited.
            changed = False
            for field, value in DEMO_PROFILE.items():
                if getattr(profile, field) in ("", None):
                    setattr(profile, field, value)
                    changed = True
            if changed:
                profile.save()
                self.stdout.write("Completed the demo user's profile.")
        return user

    def _ensure_client(self, origin):
        from oidc_provider.models import Client

        if Client.objects.filter(client_id=DEMO_CLIENT_ID).exists():
            self.stdout.write(f"Client {DEMO_CLIENT_ID!r} already exists.")
            return
        call_command(
            "createclient",
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            DEMO_CLIENT_SECRET,
            "--name",
            "Demo relying party",
            "--redirect-uri",
            f"{origin}/rp/callback",
            "--post-logout-redirect-uri",
            f"{origin}/",
            "--scope",
            DEMO_SCOPE,
            stdout=self.stdout,
        )
        self.stdout.write(f"Created client {DEMO_CLIENT_ID!r}.")
