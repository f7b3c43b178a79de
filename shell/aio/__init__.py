"""Async twins of the shell's Ray-facing API, for asyncio drivers (FastAPI, Ray Serve).

Each class has the name of its sync original with an ``Async`` prefix and the
same methods, arguments, results and errors, as coroutines; none of them ever
calls ``ray.get``, so the event loop keeps running during every round trip.
"""

from shell.aio.batcher import AsyncStateBatcher
from shell.aio.cache import AsyncStateCache
from shell.aio.managers import AsyncBudgetManager, AsyncStateManager
from shell.aio.store import AsyncStateStore

__all__ = [
    "AsyncBudgetManager",
    "AsyncStateBatcher",
    "AsyncStateCache",
    "AsyncStateManager",
    "AsyncStateStore",
]
