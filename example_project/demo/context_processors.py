"""What every template of the demo site gets."""

SITE_NAME = "django-idpyoidc-op demo"


def site(request):
    """``site_name``: the OP's pages show it in their ``brand`` block (docs/templates.md), so that the
    consent, error and logout pages say which site they belong to, as the site's own pages do."""
    return {"site_name": SITE_NAME}
