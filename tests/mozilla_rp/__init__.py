"""The relying party of docs/tutorial-mozilla-django-oidc.md: a small Django site whose
mozilla-django-oidc settings, URLs, views, template and logout function are the page's own blocks,
served beside the OP by tests/e2e/test_mozilla_django_oidc.py."""
