"""The tutorial's logout block (mysite/oidc.py): ``provider_logout``, named by OIDC_OP_LOGOUT_URL_METHOD."""

from tests.mozilla_rp.tutorial import live_block

exec(live_block("logout"), globals())
