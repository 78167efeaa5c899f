"""django-oidc-provider under /openid/ (its defaults, plus a userinfo function)."""

from bench_common import *  # noqa: F401,F403
from bench_common import BASE_URL, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["oidc_provider"]
SITE_URL = BASE_URL
OIDC_USERINFO = "dop_userinfo.userinfo"
OIDC_CODE_EXPIRE = 3600  # pre-minted codes must outlive the run
OIDC_INTROSPECTION_VALIDATE_AUDIENCE_SCOPE = False
