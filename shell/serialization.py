"""A Ray serializer for `JobExecution` that keeps a 10,000-task job within 2x of a plain dict.

Measured (docs/performance.md, ``bench.shell_ops``): with only the core's
``__reduce__``, ``ray.put`` + ``ray.get`` of a 10,000-task job cost ~5x a
plain dict with the same fields. Two costs dominate, neither in pickle's C
code: (1) the cyclic garbage collector, triggered again and again by the
~30,000 containers the rebuild allocates, re-traversing the young job (~70 %
of the time); (2) results pickled one `FrozenDict.__reduce__` call at a time.
So the payload sends results as plain dicts, like the core already does for
inputs, and the rebuild pauses the collector (the objects built are acyclic,
so nothing is leaked by not collecting while they are built).

The budget state needs no help: measured at ~1.5x a plain dict at 10,000
cost records.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import ray

from core.frozen import FrozenDict
from core.job import JobExecution
from core.task import TaskRecord

__all__ = ["decode_job", "encode_job", "ensure_registered", "reset_registration"]

_RESULT = TaskRecord._fields.index("result")
_COLUMNS = 4  # index of the task columns in `JobExecution.__reduce__`'s arguments

_lock = threading.Lock()
_registered_for: object = None


def _encode_results(results: tuple[Any, ...]) -> tuple[bool, list[Any]]:
    """Results as plain dicts (a flag says whether every one was a `FrozenDict`)."""
    if set(map(type, results)) == {FrozenDict}:
        return True, list(map(dict, results))
    return False, [dict(v) if type(v) is FrozenDict else v for v in results]


def _decode_results(encoded: tuple[bool, list[Any]]) -> list[Any]:
    """Inverse of `_encode_results`: a plain dict here was a `FrozenDict` (values stay frozen)."""
    all_dicts, results = encoded
    if all_dicts:
        return list(map(FrozenDict, results))
    return [FrozenDict(v) if type(v) is dict else v for v in results]


def encode_job(job: JobExecution) -> tuple[Any, ...]:
    """Return the job as plain builtins: the core's columnar ``__reduce__`` with plain results.

    Args:
        job: The job to serialize.

    Returns:
        ``(rebuild, args)`` for `decode_job`.
    """
    rebuild, args = job.__reduce__()
    args = list(args)
    columns = args[_COLUMNS]
    if columns:
        columns[_RESULT] = _encode_results(columns[_RESULT])
    return rebuild, args


def decode_job(payload: tuple[Any, ...]) -> JobExecution:
    """Rebuild a job from `encode_job`'s payload with the garbage collector paused.

    Args:
        payload: What `encode_job` returned, after a trip through the object store.

    Returns:
        An equal `JobExecution`.
    """
    rebuild, args = payload
    columns = args[_COLUMNS]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if columns:
            columns[_RESULT] = _decode_results(columns[_RESULT])
        job: JobExecution = rebuild(*args)
        return job
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
