"""django-oauth-toolkit with OIDC enabled, under /o/."""

import os

from bench_common import *  # noqa: F401,F403
from bench_common import BASE_URL, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["oauth2_provider"]
KEY_FILE = os.environ.get("BENCH_KEY_FILE", "/tmp/bench-dot-key.pem")  # written by setup_peer.py
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": open(KEY_FILE).read() if os.path.exists(KEY_FILE) else "",
    "OIDC_ISS_ENDPOINT": BASE_URL + "/o",
    "SCOPES": {"openid": "OpenID Connect", "profile": "Profile", "email": "Email", "introspection": "Introspection"},
    "OAUTH2_VALIDATOR_CLASS": "dot_validator.BenchValidator",
    "PKCE_REQUIRED": True,  # the default, said out loud
}
