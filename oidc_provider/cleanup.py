"""Removal of rows the OP no longer needs (``manage.py clearexpired``).

Each kind of row is deleted in batches of primary keys, one short transaction per batch, so no
request waits long on a lock and the command can be stopped at any time. Order matters: grants go
first, so their tokens and the client and then the user session nodes they leave childless go in the
same run. Each completed run leaves a ``CleanupRun`` row, which the health report (``oidchealth``) reads.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from oidc_provider.conf import oidc_settings
from oidc_provider.models import (
    BackchannelLogoutFailure,
    CleanupRun,
    ClientAssertion,
    Consent,
    InitialAccessToken,
    IssuedToken,
    OPSession,
    PushedRequest,
    SessionNode,
)

DEFAULT_BATCH_SIZE = 1000
KEPT_RUNS = 100  # records of the latest runs; older ones go when a run is recorded


@dataclass(frozen=True)
class Target:
    """One kind of removable row: its name in the report, its model and what makes a row removable."""

    name: str
    model: type
    condition: object  # a callable(now) -> Q
    lock_parents: bool = False  # session nodes: lock, then re-check for children (see _delete_batch)


def _childless():
    return ~Exists(SessionNode.objects.filter(parent_key=OuterRef("key")))


def targets():
    """What ``clear_expired`` removes, in order."""
    failure_age = dt.timedelta(seconds=oidc_settings.BACKCHANNEL_LOGOUT_FAILURE_RETENTION)
    # ended OP sessions are kept as long as a browser may bring their key back; once removed, such a key
    # counts as ended too (storage.session_tree_rows.op_session_live)
    op_session_age = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return [
        Target(
            "grants", SessionNode, lambda now: Q(kind=SessionNode.GRANT) & (Q(revoked=True) | Q(expires_at__lt=now))
        ),
        # tokens minted into a grant after it was made have rows of their own: expired, or of a grant gone
        Target(
            "tokens",
            IssuedToken,
            lambda now: Q(expires_at__lt=now) | ~Exists(SessionNode.objects.filter(key=OuterRef("grant_key"))),
        ),
        Target(
            "client sessions", SessionNode, lambda now: Q(kind=SessionNode.CLIENT) & Q(_childless()), lock_parents=True
        ),
        Target("user sessions", SessionNode, lambda now: Q(kind=SessionNode.USER) & Q(_childless()), lock_parents=True),
        Target("consents", Consent, lambda now: Q(expires_at__lt=now)),
        Target("ended OP sessions", OPSession, lambda now: Q(ended_at__lt=now - op_session_age)),
        Target("initial access tokens", InitialAccessToken, lambda now: Q(uses_left=0) | Q(expires_at__lt=now)),
        Target("client assertions (jti)", ClientAssertion, lambda now: Q(expires_at__lt=now)),
        Target("pushed authorization requests", PushedRequest, lambda now: Q(expires_at__lt=now)),
        Target(
            "back-channel logout failures", BackchannelLogoutFailure, lambda now: Q(created_at__lt=now - failure_age)
        ),
    ]


def _delete_batch(target, condition, after, batch_size):
    """Delete up to ``batch_size`` removable rows with a primary key above ``after``, in one
    transaction. Returns (rows looked at, rows deleted, highest primary key looked at)."""
    model = target.model
    with transaction.atomic():
        candidates = model.objects.filter(condition, pk__gt=after).order_by("pk")
        if target.lock_parents:
            # A request adding a grant under this node takes FOR KEY SHARE on it first
            # (session_tree_rows.lock_parent), which conflicts with this FOR UPDATE: either the request
            # committed its child before we locked, and the DELETE statement below (a new snapshot
            # under READ COMMITTED) sees the child and keeps the node; or the request waits for our
            # commit, finds the node gone and re-creates it. Rows a request holds are skipped.
            candidates = candidates.select_for_update(skip_locked=True)
        pks = list(candidates.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return 0, 0, after
        deleted, _ = model.objects.filter(condition, pk__in=pks).delete()
        return len(pks), deleted, pks[-1]


def clear_expired(batch_size=DEFAULT_BATCH_SIZE, dry_run=False, now=None, report=None):
    """Remove what the OP no longer needs; returns ``{name: count}`` (with ``dry_run``, what would
    go now: nodes left childless by the grants' removal are only counted by a real run)."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    started_at = timezone.now()
    counts = {}
    for target in targets():
        condition = target.condition(now or timezone.now())
        if dry_run:
            counts[target.name] = target.model.objects.filter(condition).count()
        else:
            total, after = 0, 0
            while True:
                seen, deleted, after = _delete_batch(target, condition, after, batch_size)
                total += deleted
                if seen < batch_size:
                    break
            counts[target.name] = total
        if report:
            report(target.name, counts[target.name])
    if not dry_run:
        record_run(started_at, counts)
    return counts


def record_run(started_at, counts):
    """Record a completed run (a run stopped half-way leaves no record: the report then says when
    the last one completed), keeping the latest ``KEPT_RUNS``."""
    run = CleanupRun.objects.create(started_at=started_at, finished_at=timezone.now(), removed=list(counts.items()))
    older = list(CleanupRun.objects.order_by("-finished_at", "-pk").values_list("pk", flat=True)[KEPT_RUNS:])
    CleanupRun.objects.filter(pk__in=older).delete()
    return run
