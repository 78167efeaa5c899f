import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OIDCProviderConfig(AppConfig):
    name = "oidc_provider"
    verbose_name = _("OpenID Connect Provider")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from oidc_provider import checks, signals  # noqa: F401  (registers checks and receivers)

        # idpyoidc logs whole requests, secrets and tokens included, at INFO. Unless the
        # site configured its loggers itself, keep them at WARNING.
        for name in ("idpyoidc", "cryptojwt"):
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
        # and whatever level the site chose, their records are redacted
        from oidc_provider import redaction

        redaction.install()
