"""Claims released per scope (OIDC Core §5.4) from the Django user, through a replaceable provider."""

from tests import flows


def userinfo(browser, http, **overrides):
    code, verifier = flows.get_code(browser, **overrides)
    tokens = flows.redeem(http, code, verifier).json()
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])
    assert response.status_code == 200
    return response.json()


def test_profile_and_email_scopes(rp, browser, http):
    info = userinfo(browser, http)
    assert info["name"] == "Alice Liddell" and info["given_name"] == "Alice" and info["family_name"] == "Liddell"
    assert info["preferred_username"] == "alice"
    assert info["email"] == "alice@example.com" and info["email_verified"] is False


def test_only_the_scopes_asked_for_are_released(rp, browser, http):
    info = userinfo(browser, http, scope="openid email")
    assert set(info) == {"sub", "email", "email_verified", "acr"} - {"acr"} | ({"acr"} & set(info))
    info = userinfo(browser, http, scope="openid")
    assert set(info) - {"acr"} == {"sub"}


def test_no_password_or_private_field_ever_leaves(rp, browser, http, user):
    info = userinfo(browser, http)
    text = str(info)
    assert user.password not in text
    assert not {"password", "is_superuser", "is_staff", "last_login", "id", "pk"} & set(info)


def test_claims_parameter_asks_for_one_claim(rp, browser, http):
    import json

    info = userinfo(browser, http, scope="openid", claims=json.dumps({"userinfo": {"email": None}}))
    assert info["email"] == "alice@example.com" and "name" not in info


class SiteClaims:
    """A site's own claims provider."""

    def get_claims(self, user):
        return {"name": "From the site", "phone_number": "+1 555 0100", "phone_number_verified": True}


def test_a_site_replaces_the_claims_provider(rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLAIMS_PROVIDER": "tests.protocol.test_claims.SiteClaims"}
    from oidc_provider.models import Client

    Client.objects.filter(client_id="rp1").update(scope="openid profile email phone")
    info = userinfo(browser, http, scope="openid profile phone")
    assert info["name"] == "From the site" and info["phone_number"] == "+1 555 0100"
    assert "email" not in info


def test_inactive_user_gets_no_claims(rp, browser, http, user):
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    user.is_active = False
    user.save()
    info = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token).json()
    assert set(info) - {"acr"} == {"sub"}


def test_scopes_beyond_the_client_allowance_are_dropped(rp, browser, http):
    info = userinfo(browser, http, scope="openid email address")
    assert "address" not in info and "email" in info
