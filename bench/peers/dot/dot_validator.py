"""Profile and email claims, as the other OPs release them for the same scopes."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class BenchValidator(OAuth2Validator):
    def get_additional_claims(self):
        return {
            "name": lambda r: r.user.get_full_name(),
            "given_name": lambda r: r.user.first_name,
            "family_name": lambda r: r.user.last_name,
            "preferred_username": lambda r: r.user.get_username(),
            "email": lambda r: r.user.email,
            "email_verified": lambda r: False,
        }
