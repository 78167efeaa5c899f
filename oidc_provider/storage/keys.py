"""The OP's signing keys as ``SigningKey`` rows: generation, first-run keys, the key set the
workers load, and rotation (docs/keys.md).

Each algorithm has its own life cycle: *next* (published, not signing) -> *current* (the one key that
signs) -> *retired* (published until every token it signed has expired) -> deleted. idpyoidc's own
recipe (mark inactive, import new) keeps signing with the old key and stops publishing it (defect
15), so rotation happens here, on rows, and every worker reloads the rows (idpy/keyjar.py).
"""

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field

from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.okp import new_okp_key
from cryptojwt.jwk.rsa import new_rsa_key
from django.db import IntegrityError, transaction
from django.utils import timezone

from oidc_provider import crypto
from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client, SigningKey

logger = logging.getLogger(__name__)

# Every algorithm cryptojwt 1.11 signs with that is worth offering for ID tokens (RFC 7518, RFC 8037).
GENERATORS = {
    "RS256": lambda kid: new_rsa_key(key_size=2048, kid=kid, use="sig"),
    "PS256": lambda kid: new_rsa_key(key_size=2048, kid=kid, use="sig"),
    "ES256": lambda kid: new_ec_key("P-256", kid=kid, use="sig"),
    "EdDSA": lambda kid: new_okp_key("Ed25519", kid=kid, use="sig"),
}
SUPPORTED_ALGS = tuple(GENERATORS)


def public_jwk(jwk: dict) -> dict:
    return {k: v for k, v in jwk.items() if k not in crypto.PRIVATE_MEMBERS}


def create_signing_key(alg="RS256", state=SigningKey.CURRENT, now=None) -> SigningKey:
    """Generate a key for ``alg`` and store it, private part encrypted."""
    if alg not in GENERATORS:
        raise ValueError(f"unsupported signing algorithm {alg!r}; choose one of {', '.join(SUPPORTED_ALGS)}")
    kid = secrets.token_urlsafe(16)
    jwk = GENERATORS[alg](kid).serialize(private=True)
    jwk.update(alg=alg, use="sig")
    now = now or timezone.now()
    return SigningKey.objects.create(
        kid=kid,
        alg=alg,
        state=state,
        public_jwk=public_jwk(jwk),
        private_jwk_encrypted=crypto.encrypt_text(json.dumps(jwk)),
        activated_at=now if state == SigningKey.CURRENT else None,
    )


def _create_unless_raced(alg, state):
    """Another worker may create the same key at the same moment: the unique constraint decides."""
    try:
        with transaction.atomic():
            return create_signing_key(alg, state)
    except IntegrityError:
        return None


def ensure_signing_keys(algs=None) -> list:
    """Give every algorithm a current key and a next key (first run needs no manual step).

    A missing current key is replaced by promoting the next one, which is already published.
    """
    algs = list(algs or oidc_settings.SIGNING_ALGS)
    states = {(alg, state) for alg, state in SigningKey.objects.filter(alg__in=algs).values_list("alg", "state")}
    created = []
    for alg in algs:
        if (alg, SigningKey.CURRENT) not in states:
            promoted = SigningKey.objects.filter(alg=alg, state=SigningKey.NEXT).first()
            if promoted is not None:
                try:
                    with transaction.atomic():
                        promoted.state, promoted.activated_at = SigningKey.CURRENT, timezone.now()
                        promoted.save(update_fields=["state", "activated_at", "updated_at"])
                    states.discard((alg, SigningKey.NEXT))
                except IntegrityError:
                    pass
            else:
                created.append(_create_unless_raced(alg, SigningKey.CURRENT))
        if (alg, SigningKey.NEXT) not in states:
            created.append(_create_unless_raced(alg, SigningKey.NEXT))
    return [key for key in created if key is not None]


# --- the key set every worker loads ---------------------------------------------------------------

STATE_ORDER = {SigningKey.CURRENT: 0, SigningKey.NEXT: 1, SigningKey.RETIRED: 2}


def key_set_version() -> tuple:
    """What identifies the key set: cheap to read, different after any rotation, creation or removal."""
    return tuple(SigningKey.objects.order_by("pk").values_list("kid", "state"))


@dataclass(frozen=True)
class KeySet:
    version: tuple
    signing: list = field(default_factory=list)  # private JWKs of the current keys
    published: list = field(default_factory=list)  # public JWKs: current, next, retired

    @property
    def signing_algs(self):
        return {jwk["alg"] for jwk in self.signing}


def _sort_key(row):
    algs = list(oidc_settings.SIGNING_ALGS)
    return STATE_ORDER[row.state], algs.index(row.alg) if row.alg in algs else len(algs), -row.created_at.timestamp()


def load_key_set() -> KeySet:
    """The rows as JWKs. A current key that cannot be decrypted is published but cannot sign (check E009)."""
    rows = sorted(SigningKey.objects.all(), key=_sort_key)
    signing = []
    for row in rows:
        if row.state == SigningKey.CURRENT:
            try:
                signing.append(json.loads(crypto.decrypt_text(row.private_jwk_encrypted)))
            except ValueError:
                logger.error("signing key %s (%s) cannot be decrypted; it cannot sign", row.kid, row.alg)
    version = tuple((r.kid, r.state) for r in sorted(rows, key=lambda r: r.pk))  # as key_set_version()
    return KeySet(version=version, signing=signing, published=[dict(r.public_jwk) for r in rows])


# --- rotation -------------------------------------------------------------------------------------


def default_retirement_period() -> int:
    """Seconds a retired key stays published: whatever it signed last may live this long (a worker
    signs with it for up to KEYS_REFRESH_INTERVAL after the rotation)."""
    s = oidc_settings
    if s.KEY_RETIREMENT_PERIOD is not None:
        return int(s.KEY_RETIREMENT_PERIOD)
    return max(s.ID_TOKEN_LIFETIME, s.ACCESS_TOKEN_LIFETIME) + s.KEYS_REFRESH_INTERVAL


def next_key_min_age() -> int:
    """A next key may sign once every RP cache of the JWKS made before it appeared has expired."""
    return oidc_settings.JWKS_MAX_AGE + oidc_settings.KEYS_REFRESH_INTERVAL


def _seconds(delta: dt.timedelta) -> int:
    return int(delta.total_seconds())


def rotate_keys(algs=None, *, retire_after=None, force=False, if_due=False, dry_run=False, now=None) -> list[str]:
    """One rotation step per algorithm, then removal of retired keys past ``remove_after``.

    For each algorithm: the next key becomes current and the current key retired (published for
    ``retire_after`` seconds more), and a new next key is published. A next key younger than
    ``next_key_min_age()`` is not promoted unless ``force``; with ``if_due``, only a current key
    older than KEY_ROTATION_PERIOD is replaced. Algorithms no longer in SIGNING_ALGS are retired.
    Returns one line per action; ``dry_run`` changes nothing.
    """
    now = now or timezone.now()
    retire_after = default_retirement_period() if retire_after is None else int(retire_after)
    try:
        return _rotate(algs, retire_after, force, if_due, dry_run, now)
    except IntegrityError:
        # A concurrent rotation committed keys this one's snapshot did not show (PostgreSQL reads
        # rows inserted meanwhile only in a new statement): plan again against what it did.
        return _rotate(algs, retire_after, force, if_due, dry_run, now)


def _rotate(algs, retire_after, force, if_due, dry_run, now):
    configured = list(oidc_settings.SIGNING_ALGS)
    lines = []
    with transaction.atomic():
        rows = list(SigningKey.objects.select_for_update().order_by("created_at"))
        present = [r.alg for r in rows]
        selected = list(dict.fromkeys(algs or configured + present))
        for alg in selected:
            by_state = {r.state: r for r in rows if r.alg == alg and r.state != SigningKey.RETIRED}
            if alg in configured:
                lines += _rotate_alg(alg, by_state, now, retire_after, force, if_due, dry_run)
            else:
                lines += _withdraw_alg(alg, by_state, now, retire_after, dry_run)
        for row in rows:
            if row.alg in selected and row.state == SigningKey.RETIRED and row.remove_after and row.remove_after <= now:
                lines.append(
                    f"{row.alg}: remove retired key {row.kid} (published until {row.remove_after:%Y-%m-%d %H:%M:%S %Z})"
                )
                if not dry_run:
                    row.delete()
    if not dry_run:
        for line in lines:
            logger.info("key rotation: %s", line)  # an audit trail in the site's logs
    return lines


def _retire(row, now, retire_after, dry_run):
    if not dry_run:
        row.state, row.retired_at = SigningKey.RETIRED, now
        row.remove_after = now + dt.timedelta(seconds=retire_after)
        row.save(update_fields=["state", "retired_at", "remove_after", "updated_at"])


def _promote(row, now, dry_run):
    if not dry_run:
        row.state, row.activated_at = SigningKey.CURRENT, now
        row.save(update_fields=["state", "activated_at", "updated_at"])


def _rotate_alg(alg, by_state, now, retire_after, force, if_due, dry_run):
    current, upcoming = by_state.get(SigningKey.CURRENT), by_state.get(SigningKey.NEXT)
    lines = []
    if current is None:
        lines.append(f"{alg}: no current key: " + ("promote the next key" if upcoming else "create one"))
        if not dry_run:
            ensure_signing_keys([alg])
        return lines
    age = _seconds(now - (current.activated_at or current.created_at))
    if if_due and age < oidc_settings.KEY_ROTATION_PERIOD and not force:
        period = oidc_settings.KEY_ROTATION_PERIOD
        lines.append(f"{alg}: current key {current.kid} is {age} s old, not due (KEY_ROTATION_PERIOD {period} s)")
        if upcoming is None:
            lines.append(f"{alg}: publish a next key")
            if not dry_run:
                create_signing_key(alg, SigningKey.NEXT, now)
        return lines
    if upcoming is None and not force:
        lines.append(f"{alg}: publish a next key; it can sign after {next_key_min_age()} s (run rotatekeys again then)")
        if not dry_run:
            create_signing_key(alg, SigningKey.NEXT, now)
        return lines
    if upcoming is not None and not force:
        published = _seconds(now - upcoming.created_at)
        wait = next_key_min_age() - published
        if wait > 0:
            lines.append(
                f"{alg}: next key {upcoming.kid} published {published} s ago; relying parties may cache the JWKS for "
                f"JWKS_MAX_AGE: promote it in {wait} s, or now with --force"
            )
            return lines
    lines.append(f"{alg}: retire {current.kid} (published {retire_after} s more)")
    _retire(current, now, retire_after, dry_run)
    if upcoming is None:  # forced without a published successor
        lines.append(f"{alg}: create a new current key (not published ahead: --force)")
        if not dry_run:
            create_signing_key(alg, SigningKey.CURRENT, now)
    else:
        lines.append(f"{alg}: promote {upcoming.kid} to current")
        _promote(upcoming, now, dry_run)
    lines.append(f"{alg}: publish a new next key")
    if not dry_run:
        create_signing_key(alg, SigningKey.NEXT, now)
    return lines


def _withdraw_alg(alg, by_state, now, retire_after, dry_run):
    """An algorithm dropped from SIGNING_ALGS: its current key retires, its next key never signed."""
    lines = []
    current, upcoming = by_state.get(SigningKey.CURRENT), by_state.get(SigningKey.NEXT)
    if current is not None:
        lines.append(f"{alg}: not in SIGNING_ALGS: retire {current.kid}")
        _retire(current, now, retire_after, dry_run)
    if upcoming is not None:
        lines.append(f"{alg}: not in SIGNING_ALGS: remove next key {upcoming.kid} (it never signed)")
        if not dry_run:
            upcoming.delete()
    return lines


def reencrypt_keys() -> int:
    """Re-encrypt every private key, and every client_secret_jwt client's secret (models.Client),
    with the current KEY_ENCRYPTION_SECRET. The number of private keys."""
    count = 0
    with transaction.atomic():
        for row in SigningKey.objects.select_for_update():
            row.private_jwk_encrypted = crypto.reencrypt_text(row.private_jwk_encrypted)
            row.save(update_fields=["private_jwk_encrypted", "updated_at"])
            count += 1
        for client in Client.objects.select_for_update().exclude(client_secret_encrypted=""):
            client.client_secret_encrypted = crypto.reencrypt_text(client.client_secret_encrypted)
            client.save(update_fields=["client_secret_encrypted", "updated_at"])
    return count
