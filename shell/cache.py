"""`StateCache`: read-side cache of Ray-held states and values derived from them.

An ObjectRef's value never changes, so an entry keyed by ref can never be
stale; the TTL only bounds memory and how long old versions stay pinned in
the object store (a cached key holds its ref). Built on cachetools'
`TTLCache` behind a lock, so expiry and LRU eviction are the well-kept ones.

Expiry is also driven by time: one daemon thread per process (started when a
cache first stores something) sweeps every live cache every `SWEEP_INTERVAL`
seconds, so an expired entry releases its ref (and the version it pins) even
when the cache is never touched again.
The thread holds caches weakly and decides nothing: it only runs the expiry
an access would run.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from cachetools import TTLCache

from core.errors import describe
from shell.errors import InvalidArgumentError
from shell.inputs import check_clock, check_count, check_seconds
from shell.ray_ops import check_ref, check_refs, count_cache, ray_get

__all__ = ["SWEEP_INTERVAL", "StateCache"]

#: Seconds between two sweeps of every live cache: an expired entry is released
#: at most this long after its TTL, accessed or not.
SWEEP_INTERVAL = 0.5

# Key of the raw state of a ref; derived values use their compute function.
_STATE = None


class _CountingTTLCache(TTLCache[Any, Any]):
    """A `TTLCache` that counts what it drops: expired entries and LRU evictions."""

    def __init__(self, maxsize: int, ttl: float, timer: Callable[[], float]) -> None:
        super().__init__(maxsize=maxsize, ttl=ttl, timer=timer)
        self.evictions = 0

    def expire(self, time: float | None = None) -> Any:
        expired = super().expire(time)
        self.evictions += len(expired)
        return expired

    def popitem(self) -> Any:
        item = super().popitem()
        self.evictions += 1
        return item


class StateCache:
    """A thread-safe TTL cache of states fetched by ref, and of values computed from them.

    Args:
        ttl: Seconds an entry lives after it was stored, > 0.
        maxsize: Most entries kept (states and derived values together), >= 1;
            the least recently used goes first.
        clock: Monotonic seconds; tests inject a fake one.

    Raises:
        InvalidArgumentError: ``ttl``, ``maxsize`` or ``clock`` is invalid.
    """

    def __init__(
        self,
        ttl: float = 5.0,
        maxsize: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_seconds(ttl, "ttl")
        check_count(maxsize, "maxsize")
        check_clock(clock)
        self.ttl = float(ttl)
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._entries = _CountingTTLCache(maxsize, self.ttl, clock)
        self._hits = 0
        self._misses = 0
        self._ray_gets = 0
        # Swept only once it holds something: a process that never caches (a store's
        # actor, its writers) never starts the sweeper thread, which measurably slowed
        # the store's actor when every import of the shell started it.
        self._watched = False

    # ------------------------------------------------------------ internals

    def sweep(self) -> None:
        """Drop the expired entries now (the sweeper thread calls it); O(expired)."""
        with self._lock:
            self._entries.expire()

    def _lookup(self, key: tuple[Any, Any]) -> tuple[bool, Any]:
        """Return ``(found, value)``; call with the lock held."""
        self._entries.expire()
        try:
            return True, self._entries[key]
        except KeyError:
            return False, None

    def _store(self, key: tuple[Any, Any], value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            watched, self._watched = self._watched, True
        if not watched:
            _SWEEPER.watch(self)

    def _record(self, hits: int, misses: int) -> None:
        with self._lock:
            self._hits += hits
            self._misses += misses
        count_cache(hits, misses)

    @staticmethod
    def _check_fn(compute_fn: Any) -> None:
        if compute_fn is not None and not callable(compute_fn):
            raise InvalidArgumentError(
                f"compute_fn must be callable or None, got {describe(compute_fn)}",
                field="compute_fn",
                value=compute_fn,
            )

    # ------------------------------------------------------------ reads

    def get(self, ref: Any, compute_fn: Callable[[Any], Any] | None = None) -> Any:
        """Return the state of ``ref``, or ``compute_fn(state)``, from the cache when possible.

        A miss fetches the state with one ``ray.get`` (none when the state is
        already cached) and caches the state and the computed value. Two
        threads missing the same ref at once may both fetch it; both get the
        same value, since a ref's value never changes.

        Args:
            ref: The ObjectRef of the state.
            compute_fn: A pure function of the state; its result is cached per
                ``(ref, compute_fn)``. Cached results are shared, so return
                immutable values.

        Returns:
            The state, or the computed value.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef or ``compute_fn`` not callable.
            StateUnavailable: the object cannot be fetched.
        """
        check_ref(ref)
        self._check_fn(compute_fn)
        key = (ref, compute_fn)
        with self._lock:
            found, value = self._lookup(key)
            state_found, state = (found, value)
            if compute_fn is not None and not found:
                state_found, state = self._lookup((ref, _STATE))
        if found:
            self._record(1, 0)
            return value
        if state_found:
            # The state is here, only its projection is new: no Ray needed.
            self._record(1, 0)
        else:
            self._record(0, 1)
            with self._lock:
                self._ray_gets += 1
            state = ray_get(ref)
            self._store((ref, _STATE), state)
        if compute_fn is None:
            return state
        value = compute_fn(state)
        self._store(key, value)
        return value

    def get_many(
        self, refs: Sequence[Any], compute_fn: Callable[[Any], Any] | None = None
    ) -> list[Any]:
        """Return `get` of every ref, in order, fetching all misses in one ``ray.get``.

        Args:
            refs: ObjectRefs; repeats are fetched once.
            compute_fn: As in `get`.

        Returns:
            One value per ref, in the order given.

        Raises:
            InvalidArgumentError: an item is not an ObjectRef (naming its index),
                or ``compute_fn`` is not callable.
            StateUnavailable: an object cannot be fetched; nothing is cached then.
        """
        refs = check_refs(refs)
        self._check_fn(compute_fn)
        results: list[Any] = [None] * len(refs)
        states: dict[Any, Any] = {}
        missing: dict[Any, None] = {}  # an ordered set: repeats are fetched once
        todo: list[int] = []
        hits = misses = 0
        with self._lock:
            for index, ref in enumerate(refs):
                found, value = self._lookup((ref, compute_fn))
                if found:
                    results[index] = value
                    hits += 1
                    continue
                todo.append(index)
                if ref in states or ref in missing:
                    hits += 1
                    continue
                state_found, state = self._lookup((ref, _STATE))
                if state_found:
                    states[ref] = state
                    hits += 1
                else:
                    missing[ref] = None
                    misses += 1
            if missing:
                self._ray_gets += 1
        self._record(hits, misses)
        if missing:
            fetched = ray_get(list(missing))
            for ref, state in zip(missing, fetched, strict=True):
                states[ref] = state
                self._store((ref, _STATE), state)
        for index in todo:
            ref = refs[index]
            if compute_fn is None:
                results[index] = states[ref]
                continue
            value = compute_fn(states[ref])
            self._store((ref, compute_fn), value)
            results[index] = value
        return results

    def holds(self, ref: Any) -> bool:
        """Return whether the state of ``ref`` is cached, counting nothing and fetching nothing.

        `shell.aio.AsyncStateCache` asks it to know which refs to await.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
        """
        check_ref(ref)
        with self._lock:
            return self._lookup((ref, _STATE))[0]

    # ------------------------------------------------------------ writes

    def remember(self, ref: Any, state: Any) -> None:
        """Cache ``state`` as the value of ``ref`` (write-through after a ``ray.put``).

        Args:
            ref: The ObjectRef just returned by ``ray.put(state)``.
            state: The value that was put.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef.
        """
        check_ref(ref)
        self._store((ref, _STATE), state)

    def invalidate(self, ref: Any = None) -> int:
        """Drop the cached state and derived values of ``ref``, or of every ref.

        Args:
            ref: The ObjectRef to forget; None forgets everything.

        Returns:
            How many entries were dropped.

        Raises:
            InvalidArgumentError: ``ref`` is neither None nor an ObjectRef.
        """
        if ref is not None:
            check_ref(ref)
        with self._lock:
            self._entries.expire()
            if ref is None:
                dropped = len(self._entries)
                self._entries.clear()
                return dropped
            keys = [key for key in list(self._entries.keys()) if key[0] == ref]
            for key in keys:
                self._entries.pop(key, None)
            return len(keys)

    def stats(self) -> dict[str, int | float]:
        """Return counters since creation.

        Returns:
            ``hits``, ``misses`` (lookups that needed Ray), ``ray_gets``
            (``ray.get`` calls made), ``evictions`` (entries dropped by expiry
            or size), ``size`` (live entries), ``maxsize`` and ``ttl``.
        """
        with self._lock:
            self._entries.expire()
            return {
                "hits": self._hits,
                "misses": self._misses,
                "ray_gets": self._ray_gets,
                "evictions": self._entries.evictions,
                "size": len(self._entries),
                "maxsize": self.maxsize,
                "ttl": self.ttl,
            }

    def __len__(self) -> int:
        """Number of live entries."""
        with self._lock:
            self._entries.expire()
            return len(self._entries)


class _Sweeper:
    """The process's one daemon thread that expires every live `StateCache` on time.

    Started with the first cache; it holds caches through a `weakref.WeakSet`,
    so a cache nobody uses any more is collected as usual.
    """

    def __init__(self) -> None:
        self._caches: weakref.WeakSet[StateCache] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, cache: StateCache) -> None:
        with self._lock:
            self._caches.add(cache)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="eap-state-cache-sweeper", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(SWEEP_INTERVAL)
            with self._lock:
                caches = list(self._caches)
            for cache in caches:
                try:
                    cache.sweep()
                except Exception:  # a broken clock must not stop the sweeps of the others
                    continue
            del caches


_SWEEPER = _Sweeper()
