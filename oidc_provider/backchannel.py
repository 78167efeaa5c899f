"""Delivery of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5).

A logout hands its deliveries to the dispatcher named by ``OIDC_PROVIDER["LOGOUT_DISPATCHER"]``
once its transaction has committed. A delivery is a dict ``{"client_id", "uri", "logout_token"}``.
The default dispatcher POSTs from background threads, so a slow or dead relying party never holds
up the user's logout; a site with a task queue subclasses ``LogoutDispatcher`` and calls
``deliver(delivery)`` from its task instead.
"""

import logging
import threading
import time

import requests
from django.db import DatabaseError, connection

from oidc_provider.conf import oidc_settings
from oidc_provider.models import BackchannelLogoutFailure

logger = logging.getLogger(__name__)


class LogoutDispatcher:
    """The contract: ``dispatch(deliveries)`` must return at once; what happens later is its business."""

    def dispatch(self, deliveries: list[dict]) -> None:
        raise NotImplementedError


class ThreadDispatcher(LogoutDispatcher):
    """Delivers each logout token from a daemon thread of this process (lost if the process dies
    before it is done: use a task queue where that matters)."""

    def dispatch(self, deliveries):
        for delivery in deliveries:
            threading.Thread(target=self.run, args=(delivery,), name="oidc-backchannel-logout", daemon=True).start()

    def run(self, delivery):
        try:
            deliver(delivery)
        finally:
            connection.close()  # this thread's own connection


def deliver(delivery: dict, timeout=None, attempts=None, backoff=1.0) -> bool:
    """POST one logout token; retry on network errors and 5xx (``attempts`` in all, ``timeout``
    seconds each). Every failure ends in a ``BackchannelLogoutFailure`` row. True when delivered."""
    timeout = timeout or oidc_settings.BACKCHANNEL_LOGOUT_TIMEOUT
    attempts = attempts or oidc_settings.BACKCHANNEL_LOGOUT_ATTEMPTS
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(
                delivery["uri"], data={"logout_token": delivery["logout_token"]}, timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as err:
            error = f"{type(err).__name__}: {err}"
        else:
            if 200 <= response.status_code < 300:  # §2.8: 200 OK (or 204)
                return True
            error = f"HTTP {response.status_code}"
            if response.status_code < 500:
                break  # the RP refused this token (§2.8: 400): sending it again will not help
        if attempt < attempts:
            time.sleep(backoff * attempt)
    logger.warning("back-channel logout of %s at %s failed after %d attempt(s): %s",
                   delivery["client_id"], delivery["uri"], attempt, error)
    try:
        BackchannelLogoutFailure.objects.create(
            client_id=delivery["client_id"], uri=delivery["uri"], attempts=attempt, error=error[:500]
        )
    except DatabaseError:
        logger.exception("could not record the failed back-channel logout of %s", delivery["client_id"])
    return False
