"""Watchers: async iterators over a job's or the budget's summaries, driven by waiting calls.

A watcher asks the store to wait for a version other than the one it last
saw; the reply carries the newest summary, so when the consumer is slower
than the writers, the changes it missed arrive as one (they coalesce).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

__all__ = ["watch_budget", "watch_job"]

WaitJob = Callable[[str, "int | None", float], Awaitable[tuple[int, "dict[str, Any] | None"]]]
WaitBudget = Callable[["int | None", float], Awaitable[tuple[int, "dict[str, Any] | None"]]]


async def watch_job(wait_job: WaitJob, job_id: str, wait: float) -> AsyncIterator[dict[str, Any]]:
    """Yield the job's summary at once and after every change; stop after a complete one.

    A job closed before it completed ends the iteration too (it will not change again).

    Args:
        wait_job: The store's ``wait_job`` coroutine function.
        job_id: The job.
        wait: Seconds each waiting call lasts before it is renewed.
    """
    version: int | None = None
    while True:
        seen = version
        version, summary = await wait_job(job_id, version, wait)
        if summary is None:
            continue
        if version == seen:
            return  # a closed job answers with its unchanged final summary: it is over
        yield summary
        if summary["is_complete"]:
            return


async def watch_budget(wait_budget: WaitBudget, wait: float) -> AsyncIterator[dict[str, Any]]:
    """Yield the budget's summary at once and after every change, for as long as it is iterated.

    Args:
        wait_budget: The store's ``wait_budget`` coroutine function.
        wait: Seconds each waiting call lasts before it is renewed.
    """
    version: int | None = None
    while True:
        version, summary = await wait_budget(version, wait)
        if summary is not None:
            yield summary
