"""Server-sent events: each new summary a watcher yields becomes one ``summary`` event.

A browser's ``EventSource`` reconnects by itself after a drop, and a watcher
starts with the current summary, so a reconnecting page is up to date at
once without replaying anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from core.errors import StateError
from shell.service._problems import error_problem
from shell.service._wire import dumps

__all__ = ["EVENT_STREAM", "summary_events"]

EVENT_STREAM = "text/event-stream"
# Tells EventSource how long to wait before reconnecting after the stream drops.
_RETRY_MS = 2000


def _event(name: str, data: bytes) -> bytes:
    # dumps emits one line of JSON (no raw newlines), so one data: line is enough.
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


async def summary_events(summaries: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Wait for the first summary, then return the stream of SSE events.

    The first summary is awaited before any byte is sent, so an unknown job
    or a store that is gone is still an ordinary error status (404, 503).
    After it, the stream yields one ``summary`` event per summary, then
    ``end`` when the watcher ends. A library error mid-stream (the store went
    away) becomes a final ``problem`` event carrying the problem document,
    since the status line was already sent.

    Raises:
        StateError: getting the first summary failed.
    """
    first = await anext(summaries)

    async def events() -> AsyncIterator[bytes]:
        yield f"retry: {_RETRY_MS}\n\n".encode()
        yield _event("summary", dumps(first))
        try:
            async for summary in summaries:
                yield _event("summary", dumps(summary))
        except StateError as err:
            _, problem = error_problem(err)
            yield _event("problem", dumps(problem))
            return
        yield _event("end", b"{}")

    return events()
