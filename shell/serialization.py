"""A Ray serializer for `JobExecution` that keeps a 10,000-task job within 2x of a plain dict.

Measured (docs/performance.md, ``bench.shell_ops``): the core's columnar
``__reduce__`` alone costs ~5x a plain dict through Ray, and ~70 % of that is
the cyclic garbage collector, triggered again and again by the ~30,000
containers the rebuild allocates and re-traversing the young job. The
serializer ships the core's own payload and rebuilds with the collector
paused (the objects built are acyclic, so nothing is leaked by not
collecting while they are built). Encoding pauses it too: at 100,000 tasks
the column lists it builds would otherwise trigger full collections.

The budget state needs no help: measured at ~1.5x a plain dict at 10,000
cost records.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray

from core.job import JobExecution

__all__ = ["decode_job", "encode_job", "ensure_registered", "reset_registration"]

_lock = threading.Lock()
_registered_for: object = None


def encode_job(job: JobExecution) -> tuple[Any, ...]:
    """Return the job as plain builtins: the core's columnar ``__reduce__`` payload.

    Args:
        job: The job to serialize.

    Returns:
        ``(rebuild, args)`` for `decode_job`.
    """
    with _collector_paused():
        rebuild, args = job.__reduce__()
    return rebuild, args


def decode_job(payload: tuple[Any, ...]) -> JobExecution:
    """Rebuild a job from `encode_job`'s payload with the garbage collector paused.

    Args:
        payload: What `encode_job` returned, after a trip through the object store.

    Returns:
        An equal `JobExecution`.
    """
    rebuild, args = payload
    with _collector_paused():
        job: JobExecution = rebuild(*args)
    return job


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while acyclic containers are built in bulk."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ensure_registered() -> None:
    """Register the job serializer with the connected Ray job, once per Ray job.

    Ray keeps serializers per job's serialization context, so a new
    ``ray.init`` needs them again. Only the putting process must register:
    the payload names `decode_job`, which any process can import. Does
    nothing while Ray is not initialised (``ray.put`` will initialise it and
    the next call registers).
    """
    global _registered_for
    if not ray.is_initialized():
        return
    job_id = ray.get_runtime_context().get_job_id()
    if _registered_for == job_id:
        return
    with _lock:
        if _registered_for != job_id:
            ray.util.register_serializer(
                JobExecution, serializer=encode_job, deserializer=decode_job
            )
            _registered_for = job_id


def reset_registration() -> None:
    """Forget the registration, so the next `ensure_registered` registers again.

    For callers that ``ray.util.deregister_serializer(JobExecution)`` on purpose,
    e.g. the benchmark measuring the core's ``__reduce__`` alone.
    """
    global _registered_for
    with _lock:
        _registered_for = None
