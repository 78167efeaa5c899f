from django.apps import AppConfig


class OIDCProviderConfig(AppConfig):
    name = "oidc_provider"
    verbose_name = "OpenID Connect Provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oidc_provider import checks, signals  # noqa: F401  (registers checks and receivers)
