"""django-idpyoidc-op (this repository) as a peer: the OP under /oidc/."""

from bench_common import *  # noqa: F401,F403
from bench_common import BASE_URL, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["oidc_provider"]
OIDC_PROVIDER = {
    "ISSUER": BASE_URL + "/oidc",
    "SECRET": "bench-only-oidc-secret",
    "CODE_LIFETIME": 3600,  # pre-minted codes must outlive the run
}
