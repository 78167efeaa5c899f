"""Delivery of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5).

A logout hands its deliveries to the dispatcher named by ``OIDC_PROVIDER["LOGOUT_DISPATCHER"]``
once its transaction has committed. A delivery is a dict ``{"client_id", "uri", "logout_token"}``.
The default dispatcher POSTs from a bounded pool of threads, so a slow or dead relying party never
holds up the user's logout; a site with a task queue subclasses ``LogoutDispatcher`` and calls
``deliver(delivery)`` from its task instead. Every POST goes through ``oidc_provider.outbound``.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, connection

from oidc_provider import outbound
from oidc_provider.conf import oidc_settings
from oidc_provider.models import BackchannelLogoutFailure

logger = logging.getLogger(__name__)

QUEUE_FULL = "not sent: the delivery queue was full"


class LogoutDispatcher:
    """The contract: ``dispatch(deliveries)`` must return at once; what happens later is its business."""

    def dispatch(self, deliveries: list[dict]) -> None:
        raise NotImplementedError


class ThreadDispatcher(LogoutDispatcher):
    """Delivers the logout tokens from BACKCHANNEL_LOGOUT_WORKERS threads of this process, with at
    most BACKCHANNEL_LOGOUT_QUEUE deliveries waiting; one beyond that is recorded as failed at once,
    so neither a flood of logouts nor a slow RP grows the threads or the queue without bound. What
    is queued is lost if the process dies: use a task queue where that matters."""

    _pool = None
    _slots = None  # deliveries running or waiting, at most workers + queue
    _size = None  # (workers, queue) the pool was made with
    _pool_lock = threading.Lock()

    def dispatch(self, deliveries):
        pool, slots = self._get_pool()
        for delivery in deliveries:
            if slots.acquire(blocking=False):
                pool.submit(self.run, delivery, slots)
            else:
                logger.warning("back-channel logout of %s not sent: the delivery queue is full", delivery["client_id"])
                record_failure(delivery, 0, QUEUE_FULL)

    def run(self, delivery, slots):
        try:
            deliver(delivery)
        finally:
            slots.release()
            connection.close()  # this thread's own connection

    @classmethod
    def _get_pool(cls):
        size = (oidc_settings.BACKCHANNEL_LOGOUT_WORKERS, oidc_settings.BACKCHANNEL_LOGOUT_QUEUE)
        with cls._pool_lock:
            if cls._size != size:  # first use, or the settings changed: the old pool drains on its own
                if cls._pool is not None:
                    cls._pool.shutdown(wait=False)
                cls._pool = ThreadPoolExecutor(size[0], thread_name_prefix="oidc-backchannel-logout")
                cls._slots = threading.BoundedSemaphore(sum(size))
                cls._size = size
            return cls._pool, cls._slots


def deliver(delivery: dict, timeout=None, attempts=None, backoff=1.0) -> bool:
    """POST one logout token; retry on network errors and 5xx (``attempts`` in all, ``timeout``
    seconds each). A request the outbound rules refuse is not retried. Every failure ends in a
    ``BackchannelLogoutFailure`` row. True when delivered."""
    timeout = timeout or oidc_settings.BACKCHANNEL_LOGOUT_TIMEOUT
    attempts = attempts or oidc_settings.BACKCHANNEL_LOGOUT_ATTEMPTS
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            status = outbound.post_form(delivery["uri"], {"logout_token": delivery["logout_token"]}, timeout=timeout)
        except outbound.OutboundRefused as err:
            error = str(err)
            break
        except outbound.OutboundError as err:
            error = str(err)
        else:
            if 200 <= status < 300:  # §2.8: 200 OK (or 204)
                return True
            error = f"HTTP {status}"
            if status < 500:
                break  # the RP refused this token (§2.8: 400), or redirected: sending it again will not help
        if attempt < attempts:
            time.sleep(backoff * attempt)
    logger.warning(
        "back-channel logout of %s at %s failed after %d attempt(s): %s",
        delivery["client_id"],
        outbound.loggable(delivery["uri"]),
        attempt,
        error,
    )
    record_failure(delivery, attempt, error)
    return False


def record_failure(delivery, attempts, error):
    try:
        BackchannelLogoutFailure.objects.create(
            client_id=delivery["client_id"], uri=delivery["uri"], attempts=attempts, error=error[:500]
        )
    except DatabaseError:
        logger.exception("could not record the failed back-channel logout of %s", delivery["client_id"])
