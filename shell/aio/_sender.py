"""Sending store requests from an event loop: awaited, never ``ray.get``, coalesced.

Submitting a remote call is synchronous work on the calling thread, so 400
coroutines each submitting their own call would hold the loop for the whole
burst. `Coalescer` queues the requests made during one turn of
the loop and sends them, at the start of the next turn, as one
``call_many`` actor call (see `shell._changes.Waiting.call_many`): each
request is still applied on its own, atomically, with its own reply or error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shell import _wait_requests as waits
from shell._changes import WAIT_METHODS
from shell._store_requests import StoreRequest
from shell.ray_ops import unwrap_ray_error

__all__ = ["MAX_COALESCED", "Coalescer"]

#: Most requests one ``call_many`` carries; a bigger burst becomes several calls.
MAX_COALESCED = 256


class Coalescer:
    """Per-loop queue of requests to one store actor, flushed once per loop turn.

    Args:
        actor: The store's actor handle.
    """

    def __init__(self, actor: Any) -> None:
        self._actor = actor
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[tuple[StoreRequest, asyncio.Future[Any]]] = []
        self._waits: dict[tuple[str, tuple[Any, ...]], asyncio.Future[Any]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        #: Remote calls submitted so far (a coalesced batch counts once).
        self.remote_calls = 0

    def send(self, request: StoreRequest) -> asyncio.Future[Any]:
        """Queue ``request`` (or submit it at once if it waits) and return its reply's future.

        Cancelling the future before the next loop turn withdraws the request:
        it is never sent. Once sent, it is applied whole or not at all.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A handle used from a new loop (e.g. a later asyncio.run) starts afresh.
            self._loop, self._queued, self._waits = loop, [], {}
        if request.method in WAIT_METHODS:
            return self._wait(loop, request)
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._flush)
        self._queued.append((request, future))
        return future

    def _wait(self, loop: asyncio.AbstractEventLoop, request: StoreRequest) -> asyncio.Future[Any]:
        """Submit a waiting request, or share the identical one already in flight.

        Every watcher of one job in this process asks the same question (same
        job, version and wait), so one waiting call answers them all: the
        actor's waiting threads bound processes, not watchers. Each caller
        gets its own shield, so one giving up does not cancel the others.
        """
        key = (request.method, request.args)
        shared = self._waits.get(key)
        if shared is None or shared.done():
            shared = loop.create_future()
            self._waits[key] = shared
            shared.add_done_callback(lambda done: self._forget_wait(key, done))
            self._submit(loop, [(request, shared)])
        return asyncio.shield(shared)

    def _forget_wait(self, key: tuple[str, tuple[Any, ...]], done: asyncio.Future[Any]) -> None:
        if self._waits.get(key) is done:
            del self._waits[key]
        if not done.cancelled():
            done.exception()  # retrieved: callers that gave up must not leave it "never retrieved"

    def close(self) -> None:
        """Stop awaiting replies still in flight (their callers get `CancelledError`)."""
        for task in list(self._deliveries):
            task.cancel()
        for _, future in self._queued:
            future.cancel()
        self._queued = []

    def _flush(self) -> None:
        """Submit what was queued during the last turn: one remote call per `MAX_COALESCED`."""
        queued = [item for item in self._queued if not item[1].done()]
        self._queued = []
        loop = asyncio.get_running_loop()
        for start in range(0, len(queued), MAX_COALESCED):
            self._submit(loop, queued[start : start + MAX_COALESCED])

    def _submit(
        self, loop: asyncio.AbstractEventLoop, chunk: list[tuple[StoreRequest, asyncio.Future[Any]]]
    ) -> None:
        """Submit one remote call for ``chunk`` and deliver its replies when they come."""
        try:
            if len(chunk) == 1:
                ref = waits.submit(self._actor, chunk[0][0])
            else:
                ref = self._actor.call_many.remote([(r.method, r.args) for r, _ in chunk])
        except Exception as err:
            _fail(chunk, err)
            return
        self.remote_calls += 1
        task = loop.create_task(_deliver(ref, chunk))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)


async def _deliver(ref: Any, chunk: list[tuple[StoreRequest, asyncio.Future[Any]]]) -> None:
    """Await one remote call and hand each caller its own reply or error."""
    try:
        reply = await ref
    except asyncio.CancelledError:
        for _, future in chunk:
            future.cancel()
        raise
    except Exception as err:
        # An actor's error arrives as RayTaskError(<its type>), itself a
        # subclass of that type: hand callers the library's own error, as ray_get does.
        _fail(chunk, unwrap_ray_error(err) or err)
        return
    if len(chunk) == 1:
        _resolve(chunk[0][1], True, reply)
        return
    for (_, future), (ok, value) in zip(chunk, reply, strict=True):
        _resolve(future, ok, value)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # its caller gave up (cancelled or timed out)
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _fail(chunk: list[tuple[StoreRequest, asyncio.Future[Any]]], err: BaseException) -> None:
    for _, future in chunk:
        _resolve(future, False, err)
