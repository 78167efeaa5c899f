"""A new site built on the installed wheel, as the README tells people to build one.

Run by ``python3 dev.py package`` with the Python of a fresh virtual environment that holds the built
wheel and Django from PyPI, never the source tree:

    python wheel_site.py DIRECTORY DEPLOYMENT_MD

It starts a project with ``django-admin startproject``, adds the README's "Add it to your own site"
settings and urls and the production settings of docs/deployment.md's checklist, then runs
``manage.py check``, ``migrate`` and ``check --deploy`` (which may list only the warnings named in
ALLOWED_DEPLOY_WARNINGS, each explained in docs/deployment.md), and walks the code flow through
Django's test client: discovery, JWKS, /authorize to the login redirect, the consent page rendered
from the wheel's templates, the code redeemed at the token endpoint.
"""

import os
import re
import secrets
import subprocess
import sys
import sysconfig
from pathlib import Path

ISSUER = "https://op.example/oidc"
HOST = "op.example"
REDIRECT_URI = "https://app.example.org/callback"
# check --deploy warnings a site following the docs still gets: none today. An id added here must be
# named in docs/deployment.md, which says why it remains.
ALLOWED_DEPLOY_WARNINGS: set[str] = set()

SETTINGS = f'''

# ---- The README's "Add it to your own site"
import os  # noqa: E402

INSTALLED_APPS += ["oidc_provider"]
LOGIN_URL = "/accounts/login/"
SESSION_ENGINE = "oidc_provider.session_store"
OIDC_PROVIDER = {{
    "ISSUER": "{ISSUER}",
    "SECRET": os.environ["OIDC_SECRET"],
    # ---- and docs/deployment.md's settings checklist
    "KEY_ENCRYPTION_SECRET": os.environ["OIDC_KEY_ENCRYPTION_SECRET"],
    "REQUIRE_PKCE": True,
}}

# ---- Production, as docs/deployment.md's settings checklist says
DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = ["{HOST}"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CACHES = {{
    "default": {{
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
        "KEY_PREFIX": "wheel-site",
    }}
}}
# Django 6.1's startproject writes a console mailer, which check --deploy refuses (mail.E001); the OP
# sends no mail, but a production site sends its own (Django 5.2 ignores this setting: SMTP is its default).
MAILERS = {{"default": {{"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}}}
LOGGING = {{"version": 1, "disable_existing_loggers": False, "loggers": {{"idpyoidc": {{"level": "WARNING"}}}}}}
'''

URLS = """from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/", include("oidc_provider.urls")),
]
"""


def fail(message):
    print(f"wheel site: FAILED: {message}", flush=True)
    sys.exit(1)


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def manage(project, *args):
    print("+ manage.py", " ".join(args), flush=True)
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    print(output.rstrip(), flush=True)
    if result.returncode != 0:
        fail(f"manage.py {' '.join(args)} exited with {result.returncode}")
    return output


def issue_ids(output):
    return sorted(set(re.findall(r"\(([A-Za-z_][\w.]*\.[CEWI]\d+)\)", output)))


def build_site(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", str(directory)], check=True)
    settings = directory / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS)
    (directory / "mysite" / "urls.py").write_text(URLS)
    return directory


def checks(project: Path, deployment_md: Path):
    output = manage(project, "check")
    if issue_ids(output) or "no issues" not in output:
        fail(f"manage.py check found issues: {issue_ids(output)}")
    manage(project, "migrate", "--no-input")
    output = manage(project, "check", "--deploy")
    found = issue_ids(output)
    unexplained = [i for i in found if i not in ALLOWED_DEPLOY_WARNINGS]
    if unexplained:
        fail(
            f"check --deploy lists {unexplained}: fix the app or the docs' settings, or explain each in "
            "docs/deployment.md and add it to ALLOWED_DEPLOY_WARNINGS"
        )
    documented = deployment_md.read_text()
    undocumented = [i for i in ALLOWED_DEPLOY_WARNINGS if i.split(".")[-1] not in documented]
    if undocumented:
        fail(f"{undocumented} are allowed but docs/deployment.md does not name them")
    print(f"wheel site: check --deploy lists {found or 'nothing'}", flush=True)


def flow(project: Path):
    """The code flow through Django's test client, in this process, on the migrated database."""
    sys.path.insert(0, str(project))
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    import base64
    import hashlib
    import json
    from importlib.metadata import version
    from urllib.parse import parse_qs, urlsplit

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    import oidc_provider

    setup_test_environment()  # records the templates each response rendered
    installed = Path(oidc_provider.__file__).resolve().parent
    if installed.parent != site_packages():
        fail(f"oidc_provider is imported from {installed}, not from the environment's site-packages")
    if version("django-idpyoidc-op") != oidc_provider.__version__:
        fail(f"distribution {version('django-idpyoidc-op')} != oidc_provider.__version__ {oidc_provider.__version__}")
    print(f"wheel site: django-idpyoidc-op {oidc_provider.__version__} from {installed}", flush=True)
    print(f"wheel site: Django {django.get_version()}, Python {sys.version.split()[0]}", flush=True)
    assert not settings.DEBUG

    for static in sorted(p for p in (installed / "static").rglob("*") if p.is_file()):
        relative = static.relative_to(installed / "static").as_posix()
        if Path(finders.find(relative)).resolve() != static.resolve():
            fail(f"static file {relative} is not found in the wheel")

    secret = secrets.token_urlsafe(24)
    call_command(
        "createclient",
        *("--client-id", "wheel-app", f"--client-secret={secret}", "--name", "Wheel App"),  # a secret may start with -
        *("--redirect-uri", REDIRECT_URI, "--scope", "openid profile email"),
        stdout=open(os.devnull, "w"),
    )
    user = get_user_model().objects.create_user("alice", password=secrets.token_urlsafe(16))
    browser = Client(HTTP_HOST=HOST)

    discovery = browser.get("/oidc/.well-known/openid-configuration", secure=True)
    if discovery.status_code != 200 or discovery.json()["issuer"] != ISSUER:
        fail(f"discovery: {discovery.status_code} {discovery.content[:300]!r}")
    if discovery.json()["authorization_endpoint"] != f"{ISSUER}/authorize":
        fail(f"discovery names {discovery.json()['authorization_endpoint']}")
    jwks = browser.get("/oidc/jwks", secure=True)
    if jwks.status_code != 200 or not jwks.json()["keys"]:
        fail(f"JWKS: {jwks.status_code} {jwks.content[:300]!r}")

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": "wheel-app",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "st",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = browser.get("/oidc/authorize", params, secure=True)
    if response.status_code != 302 or not response["Location"].startswith("/accounts/login/?next="):
        fail(f"an anonymous /authorize: {response.status_code} {response.get('Location')}")

    browser.force_login(user)
    response = browser.get("/oidc/authorize", params, secure=True)
    if response.status_code != 302 or not response["Location"].startswith("/oidc/consent"):
        fail(f"/authorize after login: {response.status_code} {response.get('Location')}")
    consent = browser.get(response["Location"], secure=True)
    rendered = {t.name: Path(t.origin.name).resolve() for t in consent.templates if t.origin and t.origin.name}
    if consent.status_code != 200 or "oidc_provider/consent.html" not in rendered:
        fail(f"the consent page: {consent.status_code}, templates {sorted(rendered)}")
    outside = {name: str(path) for name, path in rendered.items() if not path.is_relative_to(installed)}
    if outside:
        fail(f"templates not from the wheel: {outside}")
    if b"Wheel App" not in consent.content:
        fail("the consent page does not name the client")
    print(f"wheel site: the consent page rendered {sorted(rendered)} from the wheel", flush=True)

    key = parse_qs(urlsplit(response["Location"]).query)["k"][0]
    response = browser.post("/oidc/consent", {"k": key, "decision": "allow"}, secure=True)
    location = response.get("Location", "")
    answer = parse_qs(urlsplit(location).query)
    if response.status_code != 302 or not location.startswith(REDIRECT_URI) or "code" not in answer:
        fail(f"consent: {response.status_code} {location}")
    if answer.get("iss") != [ISSUER] or answer.get("state") != ["st"]:
        fail(f"the authorization response: {answer}")

    basic = base64.b64encode(f"wheel-app:{secret}".encode()).decode()
    grant = {
        "grant_type": "authorization_code",
        "code": answer["code"][0],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    tokens = Client(HTTP_HOST=HOST).post("/oidc/token", grant, secure=True, HTTP_AUTHORIZATION=f"Basic {basic}")
    if tokens.status_code != 200 or "id_token" not in tokens.json():
        fail(f"the token endpoint: {tokens.status_code} {tokens.content[:300]!r}")
    from cryptojwt.jws.jws import factory
    from cryptojwt.key_bundle import KeyBundle

    id_token = tokens.json()["id_token"]
    claims = factory(id_token).verify_compact(id_token, KeyBundle(keys=jwks.json()["keys"]).get())
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if claims["iss"] != ISSUER or audience != ["wheel-app"] or claims["nonce"] != "n":
        fail(f"the ID token: {json.dumps(claims)}")
    print("wheel site: discovery, JWKS, login redirect, consent, code and ID token all served", flush=True)


def main(directory, deployment_md):
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("OIDC_SECRET", secrets.token_urlsafe(32))
    os.environ.setdefault("OIDC_KEY_ENCRYPTION_SECRET", secrets.token_urlsafe(32))
    project = build_site(Path(directory))
    checks(project, Path(deployment_md))
    os.chdir(project)
    flow(project)


if __name__ == "__main__":
    main(*sys.argv[1:])
