"""The keys this app keeps in Django's session (the browser's login session at the site).

Low in the layers because the receivers that set them (``signals``), the views that read them and
the end of the OP session (``logout``) all need them.
"""

AUTH_TIME_SESSION_KEY = "oidc_provider.auth_time"  # when this login happened: the ID token's auth_time
LOGIN_ID_SESSION_KEY = "oidc_provider.login_id"  # tells one login from the next, even within a second
OP_SESSION_KEY = "oidc_provider.op_session"  # the key of the browser's OPSession row
