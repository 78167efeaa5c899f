"""django-idpyoidc-op: an OpenID Connect Provider for Django sites, built on idpyoidc."""

__version__ = "0.1.0"
