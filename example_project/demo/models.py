from django.conf import settings
from django.db import models


class DemoProfile(models.Model):
    """Standard OpenID Connect claims that Django's user model doesn't have.

    See OpenID Connect Core 1.0, section 5.1 (Standard Claims).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demo_profile")

    # profile scope
    middle_name = models.CharField(max_length=150, blank=True)
    nickname = models.CharField(max_length=150, blank=True)
    profile = models.URLField(blank=True, help_text="URL of the user's profile page")
    picture = models.URLField(blank=True, help_text="URL of the user's picture")
    website = models.URLField(blank=True)
    gender = models.CharField(max_length=50, blank=True)
    birthdate = models.DateField(null=True, blank=True)
    zoneinfo = models.CharField(max_length=64, blank=True, help_text="e.g. Europe/Paris")
    locale = models.CharField(max_length=35, blank=True, help_text="BCP47, e.g. en-US")

    # address scope
    formatted = models.TextField(blank=True, help_text="Full mailing address")
    street_address = models.CharField(max_length=255, blank=True)
    locality = models.CharField(max_length=150, blank=True)
    region = models.CharField(max_length=150, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)

    # phone scope
    phone_number = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +1 555 0100")
    phone_number_verified = models.BooleanField(default=False)

    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Profile of {self.user}"
