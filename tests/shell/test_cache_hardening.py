"""StateCache and duration arguments: expiry driven by time, and bad ttl/timeout/clock refused."""

from __future__ import annotations

import gc
import sys
import time
import weakref
from typing import Any

import pytest

from shell import InvalidArgumentError, StateCache, StateStore
from shell.cache import SWEEP_INTERVAL
from shell.inputs import MAX_SECONDS, check_seconds

pytestmark = pytest.mark.usefixtures("fresh_shell")


class Version:
    """A stand-in for a job version: something a cache entry keeps alive."""


def test_expired_entries_are_released_without_another_access(ray_session: Any) -> None:
    """Issue 15.11: after the TTL the sweeper drops the entry, with no call on the cache."""
    cache = StateCache(ttl=0.2)
    refs = [ray_session.put(i) for i in range(3)]
    versions = [Version() for _ in refs]
    watchers = [weakref.ref(v) for v in versions]
    for ref, version in zip(refs, versions, strict=True):
        cache.remember(ref, version)
    del versions, version
    deadline = time.monotonic() + 0.2 + 4 * SWEEP_INTERVAL + 2.0
    while any(w() is not None for w in watchers) and time.monotonic() < deadline:
        time.sleep(0.05)
        gc.collect()
    assert all(w() is None for w in watchers), "an expired entry still holds its version"
    assert cache.stats()["evictions"] == 3


@pytest.mark.parametrize(
    "seconds", [10**400, sys.maxsize, 1e30, MAX_SECONDS * 2, float("inf"), float("nan"), 0, -1]
)
def test_durations_beyond_what_ray_accepts_are_refused(seconds: Any) -> None:
    """Issue 15.12: a TTL or timeout that is huge, non-finite or not positive is refused."""
    with pytest.raises(InvalidArgumentError) as info:
        StateCache(ttl=seconds)
    assert info.value.field == "ttl"
    with pytest.raises(InvalidArgumentError) as info:
        check_seconds(seconds, "timeout", none_ok=True)
    assert info.value.field == "timeout"
    with pytest.raises(InvalidArgumentError) as info:
        StateStore.create(None, [], timeout=seconds)
    assert info.value.field == "timeout"


def test_the_longest_accepted_duration_is_max_seconds() -> None:
    """MAX_SECONDS itself is accepted, as a float."""
    assert check_seconds(int(MAX_SECONDS), "ttl") == MAX_SECONDS


def _raising_clock() -> float:
    raise KeyError("no time")


@pytest.mark.parametrize(
    "clock", [lambda: "x", lambda: None, lambda: True, lambda: float("nan"), _raising_clock]
)
def test_a_clock_that_gives_no_seconds_is_refused_when_the_cache_is_made(clock: Any) -> None:
    """Issue 15.12: StateCache(clock=lambda: "x") fails at once, not at the first get."""
    with pytest.raises(InvalidArgumentError) as info:
        StateCache(clock=clock)
    assert info.value.field == "clock"
    if clock is _raising_clock:
        assert isinstance(info.value.__cause__, KeyError)
