"""django-idpyoidc-op (this repository) as a peer: the OP under /oidc/."""

import os

from bench_common import *  # noqa: F401,F403
from bench_common import BASE_URL, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["oidc_provider"]
OIDC_PROVIDER = {
    "ISSUER": BASE_URL + "/oidc",
    "SECRET": "bench-only-oidc-secret",
    "CODE_LIFETIME": 3600,  # pre-minted codes must outlive the run
    # client rows reused per worker for up to this many seconds (docs/settings.md); BENCH_CLIENT_CACHE_TTL=0
    # measures without
    "CLIENT_CACHE_TTL": float(os.environ.get("BENCH_CLIENT_CACHE_TTL", "5")),
}
