"""Fixtures for every suite."""

from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.e2e.live import delete_cache_keys


@pytest.fixture(autouse=True)
def empty_rate_limit_cache():
    """Rate-limit windows live in the (locmem) cache: one test's failures must not throttle the next.
    On Redis (OIDC_TEST_CACHE_URL) only this run's keys go: other runs may share the database."""
    for cache in caches.all(initialized_only=True):
        if isinstance(cache, RedisCache):
            delete_cache_keys(cache._servers[0], cache.key_prefix)
        else:
            cache.clear()
    yield


@pytest.fixture(autouse=True)
def rate_limit_clock(monkeypatch):
    """The rate limits' fixed windows restart at each multiple of their length: a test counting events
    against a minute's window failed whenever a boundary fell between its requests. In process they
    count at one instant, 40 s into a minute (a test that moves time sets its own clock)."""
    from oidc_provider import throttling

    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_000_040.0))
