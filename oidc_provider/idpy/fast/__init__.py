"""Speed rewrites of idpyoidc internals: the same results, cheaper. Each module gives its measured
gain and names the test that compares it with the stock behaviour (docs/speed-rewrites.md lists what
an idpyoidc upgrade must re-check)."""
