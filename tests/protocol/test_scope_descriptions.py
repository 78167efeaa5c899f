"""``SCOPE_DESCRIPTIONS`` entries are %-formats with one name, ``%(client)s``. One with a bare ``%``
("100% private") or another placeholder made every consent page that shows its scope answer 500;
``check`` now reports it (E014) and the page shows such an entry as written."""

import pytest
from django.core import checks

from oidc_provider.checks import check_settings
from tests import flows

BROKEN = ["Your email, 100% private", "Your email, sent to %(name)s", "Your email, for %s", "Your email, 50%"]


@pytest.fixture
def described(settings):
    def describe(text):
        settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SCOPE_DESCRIPTIONS": {"email": text}}

    return describe


@pytest.mark.parametrize("text", BROKEN)
def test_a_description_that_is_no_format_with_client_is_E014(settings, described, text):
    settings.DEBUG = True  # the test issuer is http
    described(text)
    assert [m.id for m in check_settings()] == ["oidc_provider.E014"]


@pytest.mark.parametrize("text", ["Your email, 100%% private, for %(client)s", "Your email"])
def test_a_description_with_client_and_escaped_percent_signs_is_fine(settings, described, text):
    settings.DEBUG = True
    described(text)
    assert check_settings() == []


@pytest.mark.parametrize("text", BROKEN)
def test_the_consent_page_shows_a_broken_description_as_written(rp, browser, described, text):
    described(text)
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43))
    page = browser.get(response["Location"])
    assert page.status_code == 200
    assert text in page.content.decode() and "{'client'" not in page.content.decode()


def test_e014_is_an_error_django_reports(settings, described):
    settings.DEBUG = True
    described("Your email, 100% private")
    assert "oidc_provider.E014" in [m.id for m in checks.run_checks()]
