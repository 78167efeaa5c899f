"""Claims provider for the demo: Django user fields plus the DemoProfile."""

from oidc_provider.claims import ClaimsProvider

from .models import DemoProfile

PROFILE_CLAIMS = (
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "gender",
    "zoneinfo",
    "locale",
)
ADDRESS_FIELDS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


class DemoClaimsProvider(ClaimsProvider):
    def get_claims(self, user) -> dict:
        claims = super().get_claims(user)
        try:
            profile = user.demo_profile
        except DemoProfile.DoesNotExist:
            return claims

        for name in PROFILE_CLAIMS:
            value = getattr(profile, name)
            if value:
                claims[name] = value
        if profile.birthdate:
            claims["birthdate"] = profile.birthdate.isoformat()

        address = {name: getattr(profile, name) for name in ADDRESS_FIELDS if getattr(profile, name)}
        if address:
            claims["address"] = address

        if profile.phone_number:
            claims["phone_number"] = profile.phone_number
            claims["phone_number_verified"] = profile.phone_number_verified

        if profile.updated_at:
            claims["updated_at"] = int(profile.updated_at.timestamp())
        return claims
