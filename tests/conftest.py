"""Fixtures for every suite."""

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
