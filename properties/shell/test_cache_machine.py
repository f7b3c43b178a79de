"""A state machine drives `StateCache` on real ObjectRefs against a dict model with a fake clock.

The exact machine (no size pressure) predicts every value, hit, miss,
``ray.get`` and expiry; the bounded machine (maxsize 3) checks what must
hold whatever LRU evicts: values stay right and the size stays bounded.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from properties.fakes import FakeClock
from shell.cache import StateCache

TTL = 5


def double(state: int) -> int:
    """A derived value."""
    return 2 * state


def square(state: int) -> int:
    """Another derived value."""
    return state * state


FUNCTIONS = st.sampled_from([None, double, square])
_ray: Any = None


@pytest.fixture(autouse=True, scope="module")
def _ray_for_machines(ray_session):
    """Give the machines the session's Ray (Hypothesis test cases cannot take fixtures)."""
    global _ray
    _ray = ray_session
    yield


def _expected(value: int, fn: Any) -> int:
    return value if fn is None else fn(value)


class CacheMachine(RuleBasedStateMachine):
    """StateCache versus a dict of (ref index, function) -> time stored."""

    refs = Bundle("refs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.cache = StateCache(ttl=TTL, maxsize=1024, clock=self.clock)
        self.values: list[int] = []
        self.object_refs: list[Any] = []
        self.stored: dict[tuple[int, Any], int] = {}
        self.hits = self.misses = self.ray_gets = 0

    def _live(self, key: tuple[int, Any]) -> bool:
        stored = self.stored.get(key)
        return stored is not None and self.clock.now < stored + TTL

    def _lookup(self, index: int, fn: Any) -> bool:
        """Update the model for one lookup; return whether it needs a ray.get."""
        if self._live((index, fn)):
            self.hits += 1
            return False
        self.stored[(index, fn)] = self.clock.now
        if fn is not None and self._live((index, None)):
            self.hits += 1
            return False
        self.misses += 1
        self.stored[(index, None)] = self.clock.now
        return True

    @rule(target=refs, value=st.integers(-1000, 1000))
    def put(self, value: int) -> int:
        self.values.append(value)
        self.object_refs.append(_ray.put(value))
        return len(self.values) - 1

    @rule(index=refs, fn=FUNCTIONS)
    def get(self, index: int, fn: Any) -> None:
        if self._lookup(index, fn):
            self.ray_gets += 1
        assert self.cache.get(self.object_refs[index], fn) == _expected(self.values[index], fn)

    @rule(indices=st.lists(refs, max_size=5), fn=FUNCTIONS)
    def get_many(self, indices: list[int], fn: Any) -> None:
        fetched = False
        seen_missing: set[int] = set()
        for index in indices:
            if index in seen_missing and not self._live((index, fn)):
                self.hits += 1  # fetched by this same call
                self.stored[(index, fn)] = self.clock.now
                continue
            if self._lookup(index, fn):
                fetched = True
                seen_missing.add(index)
        self.ray_gets += fetched
        got = self.cache.get_many([self.object_refs[i] for i in indices], fn)
        assert got == [_expected(self.values[i], fn) for i in indices]

    @rule(index=refs)
    def remember(self, index: int) -> None:
        self.stored[(index, None)] = self.clock.now
        self.cache.remember(self.object_refs[index], self.values[index])

    @rule(index=st.one_of(st.none(), refs))
    def invalidate(self, index: int | None) -> None:
        for key in list(self.stored):
            if index is None or key[0] == index:
                del self.stored[key]
        self.cache.invalidate(None if index is None else self.object_refs[index])

    @rule(seconds=st.integers(0, 2 * TTL))
    def advance(self, seconds: int) -> None:
        self.clock.now += seconds

    @invariant()
    def matches_model(self) -> None:
        stats = self.cache.stats()
        live = sum(1 for key in self.stored if self._live(key))
        assert (stats["hits"], stats["misses"], stats["ray_gets"]) == (
            self.hits,
            self.misses,
            self.ray_gets,
        )
        assert stats["size"] == live


class BoundedCacheMachine(RuleBasedStateMachine):
    """Under LRU pressure values stay right and the cache never exceeds maxsize."""

    refs = Bundle("refs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.cache = StateCache(ttl=TTL, maxsize=3, clock=self.clock)
        self.values: list[int] = []
        self.object_refs: list[Any] = []
        self.lookups = 0

    @rule(target=refs, value=st.integers(-1000, 1000))
    def put(self, value: int) -> int:
        self.values.append(value)
        self.object_refs.append(_ray.put(value))
        return len(self.values) - 1

    @rule(indices=st.lists(refs, min_size=1, max_size=4), fn=FUNCTIONS)
    def get_many(self, indices: list[int], fn: Any) -> None:
        self.lookups += len(indices)
        got = self.cache.get_many([self.object_refs[i] for i in indices], fn)
        assert got == [_expected(self.values[i], fn) for i in indices]

    @rule(index=refs, fn=FUNCTIONS)
    def get(self, index: int, fn: Any) -> None:
        self.lookups += 1
        assert self.cache.get(self.object_refs[index], fn) == _expected(self.values[index], fn)

    @rule(seconds=st.integers(0, TTL))
    def advance(self, seconds: int) -> None:
        self.clock.now += seconds

    @invariant()
    def bounded(self) -> None:
        stats = self.cache.stats()
        assert stats["size"] <= 3
        assert stats["hits"] + stats["misses"] == self.lookups
        assert stats["ray_gets"] <= stats["misses"]


_QUICK = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestCacheMachine = CacheMachine.TestCase
TestCacheMachine.settings = _QUICK
TestBoundedCacheMachine = BoundedCacheMachine.TestCase
TestBoundedCacheMachine.settings = _QUICK
