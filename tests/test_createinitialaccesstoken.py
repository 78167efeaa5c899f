"""``manage.py createinitialaccesstoken``."""

import io
import time

import pytest
from django.core.management import CommandError, call_command

from oidc_provider.models import InitialAccessToken


def create(*args):
    out = io.StringIO()
    call_command("createinitialaccesstoken", *args, stdout=out)
    return out.getvalue()


def test_prints_the_token_once_and_stores_its_hash(db):
    output = create("--description", "partner", "--uses", "3", "--expires-in", "3600")
    token = output.split("initial_access_token=", 1)[1].split()[0]
    row = InitialAccessToken.objects.get()
    assert row.token_hash == InitialAccessToken.hash(token) and token not in row.token_hash
    assert row.description == "partner" and row.uses_left == 3
    assert abs(row.expires_at.timestamp() - (time.time() + 3600)) < 10
    assert InitialAccessToken.usable(token).get() == row
    assert 'REGISTRATION_POLICY is "open"' in output  # the test project's policy: the token is not needed


def test_defaults_single_use_never_expires(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "initial_access_token"}
    output = create()
    row = InitialAccessToken.objects.get()
    assert row.uses_left == 1 and row.expires_at is None and "REGISTRATION_POLICY" not in output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--uses", "0"], "--uses"),
        (["--expires-in", "0"], "--expires-in"),
        (["--description", "x" * 256], "--description"),
    ],
)
def test_bad_options(db, args, message):
    with pytest.raises(CommandError, match=message):
        create(*args)
    assert not InitialAccessToken.objects.exists()
