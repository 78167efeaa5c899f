"""Our subclasses of idpyoidc 5.0.0 classes. Each fix is named after the defect it repairs
(numbers refer to shared/reference/idpyoidc-5.0.0-notes.md) and has a test that fails without it."""
