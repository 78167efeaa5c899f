"""The seams between idpyoidc's in-memory stores and the Django ORM."""
