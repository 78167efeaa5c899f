"""Keep secrets out of idpyoidc's and cryptojwt's log records (idpyoidc logs whole requests,
codes, tokens and client secrets at INFO and DEBUG; its ``sanitize()`` is a no-op).

A filter on each of their loggers rewrites every record before any handler sees it: values of
secret-bearing parameters, HTTP credentials, JWTs and any token-shaped string of 32 or more
characters become ``[redacted]``. Identifiers that long are redacted too: a log loses a little
detail, never a credential.
"""

import logging
import re

REDACTED = "[redacted]"
SECRET_NAMES = (
    "access_token|refresh_token|id_token|code|code_verifier|client_secret|client_assertion|"
    "registration_access_token|token|subject_token|actor_token|assertion|password|request|"
    "authorization|cookie|logout_token|id_token_hint|value|key|k|d|p|q|dp|dq|qi"
)
PATTERNS = [
    # 'name': 'value' / "name": "value" (dict and Message reprs, JSON)
    (re.compile(rf"""(['"](?:{SECRET_NAMES})['"]\s*:\s*)(['"])(?:(?!\2).)*\2""", re.I | re.S), rf"\1\2{REDACTED}\2"),
    # name=value (query strings, form bodies, keyword reprs)
    (re.compile(rf"""(\b(?:{SECRET_NAMES})=)[^&\s,;)'"]+""", re.I), rf"\1{REDACTED}"),
    # HTTP credentials
    (re.compile(r"\b(Basic|Bearer|DPoP)\s+[A-Za-z0-9._~+/=%-]+", re.I), rf"\1 {REDACTED}"),
    # compact JWS/JWE
    (re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}"), REDACTED),
    # anything token-shaped
    (re.compile(r"[A-Za-z0-9_\-+/=~%.]{32,}"), REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Formats the record's message once, redacted, and drops its arguments and exception text
    (a traceback's locals and messages carry request values too)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string in a library: keep the template only
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


LIBRARIES = ("idpyoidc", "cryptojwt")


def install():
    """Attach the filter to every logger of the libraries, the ones their modules made at import
    included (a logger's filters do not see records of its children)."""
    import idpyoidc.server  # noqa: F401  (creates the module loggers)

    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in LIBRARIES] + list(LIBRARIES)
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
