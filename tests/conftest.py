"""Fixtures for every suite."""

import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def empty_rate_limit_cache():
    """Rate-limit windows live in the (locmem) cache: one test's failures must not throttle the next."""
    for cache in caches.all(initialized_only=True):
        cache.clear()
    yield
