"""`AsyncStateCache`: the fetching side of `shell.cache.StateCache`, awaited.

It shares the entries of a `StateCache` (the managers' process-wide one by
default): what one side fetched, the other finds. A miss awaits the ref
instead of calling ``ray.get``; the state is then remembered in the shared
cache and the lookup is answered by `StateCache.get`, so what is cached per
``(ref, compute_fn)`` is the sync cache's own rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from shell.cache import StateCache
from shell.errors import InvalidArgumentError
from shell.managers import default_cache
from shell.ray_ops import check_ref, check_refs, describe_ref, raise_translated

__all__ = ["AsyncStateCache", "fetch"]


async def fetch(ref: Any) -> Any:
    """Await the value of one ObjectRef, with the library's errors (never ``ray.get``).

    Raises:
        InvalidArgumentError: ``ref`` is not an ObjectRef.
        StateUnavailable: the object is lost or its owner died.
        StateError: a library error raised by the task that made it.
    """
    check_ref(ref)
    try:
        return await ref
    except Exception as err:
        raise_translated(err, describe_ref(ref))


class AsyncStateCache:
    """Async reads through a `StateCache`.

    Args:
        cache: The cache whose entries to share; the managers' default when None.

    Raises:
        InvalidArgumentError: ``cache`` is not a `StateCache`.
    """

    def __init__(self, cache: StateCache | None = None) -> None:
        if cache is not None and not isinstance(cache, StateCache):
            raise InvalidArgumentError(
                f"cache must be a StateCache or None, got {cache!r}", field="cache", value=cache
            )
        self.cache = default_cache() if cache is None else cache
        #: Refs awaited on a miss (the sync cache's own stats count its ray.get calls).
        self.fetches = 0

    async def get(self, ref: Any, compute_fn: Callable[[Any], Any] | None = None) -> Any:
        """Return `StateCache.get` of ``ref``, awaiting the state on a miss.

        Raises:
            InvalidArgumentError: ``ref`` is not an ObjectRef or ``compute_fn`` not callable.
            StateUnavailable: the object cannot be fetched.
        """
        await self._fill([check_ref(ref)])
        return self.cache.get(ref, compute_fn)

    async def get_many(
        self, refs: Sequence[Any], compute_fn: Callable[[Any], Any] | None = None
    ) -> list[Any]:
        """Return `StateCache.get_many` of ``refs``, awaiting every missing state concurrently.

        Raises:
            InvalidArgumentError: an item is not an ObjectRef (naming its index).
            StateUnavailable: an object cannot be fetched; nothing is cached then.
        """
        refs = check_refs(refs)
        await self._fill(refs)
        return self.cache.get_many(refs, compute_fn)

    async def _fill(self, refs: list[Any]) -> None:
        """Await the states of ``refs`` the cache does not hold and remember them (all or none)."""
        missing = list(dict.fromkeys(ref for ref in refs if not self.cache.holds(ref)))
        if not missing:
            return
        self.fetches += len(missing)
        states = await asyncio.gather(*(fetch(ref) for ref in missing))
        for ref, state in zip(missing, states, strict=True):
            self.cache.remember(ref, state)
