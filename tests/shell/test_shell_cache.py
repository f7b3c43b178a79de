"""StateCache on real ObjectRefs: hits, misses, expiry with a fake clock, batching, threads."""

from __future__ import annotations

import math
import threading

import pytest

from shell import InvalidArgumentError, StateCache, ray_op_counts, reset_ray_op_counts


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ray(ray_session):
    """The session's Ray, with the shell's op counts reset."""
    reset_ray_op_counts()
    return ray_session


def double(state: int) -> int:
    """A derived value."""
    return state * 2


def negate(state: int) -> int:
    """Another derived value."""
    return -state


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": -1.0}, "ttl"),
        ({"ttl": math.nan}, "ttl"),
        ({"ttl": math.inf}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"ttl": "5"}, "ttl"),
        ({"maxsize": 0}, "maxsize"),
        ({"maxsize": 2.0}, "maxsize"),
        ({"clock": 3}, "clock"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, field):
    """Bad ttl, maxsize or clock raise InvalidArgumentError naming the field."""
    with pytest.raises(InvalidArgumentError) as info:
        StateCache(**kwargs)
    assert info.value.field == field


def test_get_fetches_once_then_hits(ray):
    """The first get is one ray.get; the next ones are hits with no Ray call."""
    cache = StateCache()
    ref = ray.put(21)
    assert cache.get(ref) == 21
    assert cache.get(ref) == 21
    assert ray_op_counts()["get"] == 1
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["ray_gets"]) == (1, 1, 1)


def test_compute_fn_is_cached_per_function_and_reuses_the_state(ray):
    """Each compute_fn has its own entry; a new function on a cached state needs no ray.get."""
    cache = StateCache()
    ref = ray.put(21)
    assert cache.get(ref, double) == 42
    assert cache.get(ref, negate) == -21
    assert cache.get(ref) == 21
    assert cache.get(ref, double) == 42
    assert cache.stats()["ray_gets"] == 1
    assert len(cache) == 3


def test_compute_fn_error_propagates_and_caches_nothing_derived(ray):
    """A failing compute_fn raises its error and leaves no derived entry."""
    cache = StateCache()
    ref = ray.put(0)

    def boom(state: int) -> int:
        raise ZeroDivisionError("derived failed")

    with pytest.raises(ZeroDivisionError):
        cache.get(ref, boom)
    assert len(cache) == 1  # the state, fetched before the failure
    with pytest.raises(InvalidArgumentError):
        cache.get(ref, compute_fn="double")


def test_entries_expire_after_ttl_with_a_fake_clock(ray):
    """At ttl the entry is dropped and counted as an eviction; the next get fetches again."""
    clock = FakeClock()
    cache = StateCache(ttl=5.0, clock=clock)
    ref = ray.put("v")
    cache.get(ref, double)
    clock.now = 4.9
    cache.get(ref)
    assert cache.stats()["ray_gets"] == 1
    clock.now = 5.0
    assert len(cache) == 0
    assert cache.stats()["evictions"] == 2
    assert cache.get(ref) == "v"
    assert cache.stats()["ray_gets"] == 2


def test_maxsize_evicts_least_recently_used(ray):
    """Beyond maxsize the least recently used entry goes, counted as an eviction."""
    cache = StateCache(maxsize=2)
    a, b, c = ray.put("a"), ray.put("b"), ray.put("c")
    cache.get(a)
    cache.get(b)
    cache.get(a)  # a is now more recent than b
    cache.get(c)
    assert cache.stats()["evictions"] == 1
    reset_ray_op_counts()
    cache.get(a)
    assert ray_op_counts()["get"] == 0
    cache.get(b)
    assert ray_op_counts()["get"] == 1


def test_get_many_fetches_all_misses_in_one_ray_get(ray):
    """get_many of 20 refs with hits and repeats makes one ray.get for the misses, in order."""
    cache = StateCache()
    refs = [ray.put(i) for i in range(20)]
    cache.get(refs[3])
    reset_ray_op_counts()
    asked = [*refs, refs[5], refs[3]]
    assert cache.get_many(asked, double) == [2 * i for i in range(20)] + [10, 6]
    assert ray_op_counts()["get"] == 1
    assert cache.get_many(asked) == [*range(20), 5, 3]
    assert cache.get_many([]) == []
    assert ray_op_counts()["get"] == 1


def test_get_many_rejects_bad_items_before_any_ray_call(ray):
    """A non-ref item raises InvalidArgumentError with its index; nothing is fetched."""
    cache = StateCache()
    with pytest.raises(InvalidArgumentError) as info:
        cache.get_many([ray.put(1), "nope"])
    assert info.value.index == 1
    with pytest.raises(InvalidArgumentError):
        cache.get_many("nope")
    assert ray_op_counts()["get"] == 0


def test_remember_writes_through(ray):
    """A remembered state is served without a ray.get."""
    cache = StateCache()
    ref = ray.put({"x": 1})
    cache.remember(ref, {"x": 1})
    assert cache.get(ref) == {"x": 1}
    assert cache.get(ref, len) == 1
    assert ray_op_counts()["get"] == 0
    with pytest.raises(InvalidArgumentError):
        cache.remember("ref", 1)


def test_invalidate_one_ref_or_everything(ray):
    """invalidate(ref) drops that ref's state and derived values only; invalidate() drops all."""
    cache = StateCache()
    a, b = ray.put(1), ray.put(2)
    cache.get(a, double)
    cache.get(b)
    assert cache.invalidate(a) == 2
    assert len(cache) == 1
    assert cache.invalidate() == 1
    assert len(cache) == 0
    with pytest.raises(InvalidArgumentError):
        cache.invalidate("a")


def test_threaded_stress_loses_nothing(ray):
    """8 threads x 1,000 lookups on shared refs: right values, no exception, all counted."""
    cache = StateCache(maxsize=16)
    refs = [ray.put(i) for i in range(24)]  # more refs than slots: eviction under contention
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for i in range(1000):
                index = (seed * 7 + i) % len(refs)
                fn = double if i % 2 else None
                expected = 2 * index if fn else index
                assert cache.get(refs[index], fn) == expected
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = cache.stats()
    assert stats["size"] <= 16
    # A derived miss on a cached state is a hit, so every lookup is one or the other.
    assert stats["hits"] + stats["misses"] == 8000
    assert stats["ray_gets"] == stats["misses"] == ray_op_counts()["get"]
