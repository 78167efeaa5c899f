"""idpyoidc's client-assertion replay cache (``context.jti_db``) as ``ClientAssertion`` rows.

idpyoidc keeps the ``jti``s it has seen in a process-local dict, so another worker would
accept the same assertion again. It only asks ``key in jti_db`` and sets ``jti_db[key] = now``.
"""

import datetime as dt
from collections.abc import MutableMapping
from hashlib import sha256

from django.db import IntegrityError, transaction
from django.utils import timezone

from oidc_provider.models import ClientAssertion

# An assertion may not expire later than this from now, give or take the clients' clock skew
# (checked in idpy/client_authn.py); its jti is remembered as long, so a replay is refused for as
# long as the assertion itself is valid.
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 60


def _key(value: str) -> str:
    return sha256(value.encode()).hexdigest()


class AssertionReplayStore(MutableMapping):
    """``"<iss>:<jti>" in store`` and ``store["<iss>:<jti>"] = now``, over rows shared by all workers."""

    def __contains__(self, key):
        return ClientAssertion.objects.filter(key=_key(key), expires_at__gt=timezone.now()).exists()

    def __setitem__(self, key, value):
        """Record a first use. Two workers racing on one jti: the unique key lets one through."""
        now = timezone.now()
        expires = now + dt.timedelta(seconds=MAX_ASSERTION_LIFETIME + CLOCK_SKEW)
        ClientAssertion.objects.filter(expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                ClientAssertion.objects.create(key=_key(key), expires_at=expires)
        except IntegrityError as err:
            raise ValueError("client assertion replayed") from err

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(key)
        return True

    def __delitem__(self, key):
        ClientAssertion.objects.filter(key=_key(key)).delete()

    def __iter__(self):
        return iter(())  # never list every assertion

    def __len__(self):
        return 0


def first_use(name: str, lifetime: int) -> bool:
    """Record ``name`` (a namespaced one-time value: ``"dpop:<jkt>:<jti>"``) for ``lifetime`` seconds;
    False if it is recorded already, on any worker. Runs in autocommit or inside the caller's
    transaction alike (a savepoint), so read-only requests (userinfo) record too."""
    now = timezone.now()
    if ClientAssertion.objects.filter(key=_key(name), expires_at__gt=now).exists():
        return False
    ClientAssertion.objects.filter(key=_key(name), expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            ClientAssertion.objects.create(key=_key(name), expires_at=now + dt.timedelta(seconds=lifetime))
    except IntegrityError:
        return False
    return True
