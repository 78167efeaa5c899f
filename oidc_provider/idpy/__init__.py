"""Our subclasses of idpyoidc 5.0.0 classes. Each fix is named after the defect it repairs, catalogued in
docs/idpyoidc-defects.md, and has a test that fails without it."""
