"""The one place the shell calls `ray.get` and `ray.put`: counted, exported, translated.

Every Ray operation of the shell goes through `ray_get` or `ray_put`, so
``ray_op_counts()`` is exact and a Ray cluster's Prometheus sees the same
numbers through `ray.util.metrics` counters. Ray failures (an object whose
owner died, a lost object, a timeout, a dead actor, a task that produced the
object and failed) reach the caller as `shell.errors.StateUnavailable` naming
the ref; a library error that Ray wrapped on its way out of a task or actor is
unwrapped back to its own type (`unwrap_ray_error`), so callers catch
`StateError`, never a Ray exception.

The library never starts Ray: ``ray.put`` and ``ray.get`` would start a local
Ray when none runs (after ``ray.shutdown()``, say), silently putting state
where no other process can see it. `require_ray` refuses first, with
`StateUnavailable`; only the demo calls ``ray.init``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType
from typing import Any, NoReturn

import ray
from ray import exceptions as ray_exceptions

from core.errors import StateError, describe
from shell.errors import InvalidArgumentError, StateUnavailable

__all__ = [
    "InvalidArgumentError",
    "check_ref",
    "check_refs",
    "count_cache",
    "describe_ref",
    "raise_as",
    "raise_translated",
    "ray_get",
    "ray_op_counts",
    "ray_put",
    "require_ray",
    "reset_ray_op_counts",
    "translate_ray_error",
    "unwrap_ray_error",
    "warn_if_in_event_loop",
]


# Ray errors meaning "the state cannot be reached", as opposed to a bug in
# the caller's code. RayTaskError is absent: it wraps an error raised by user
# code and is unwrapped instead.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ray_exceptions.ObjectLostError,  # includes OwnerDiedError, ObjectFreedError...
    ray_exceptions.GetTimeoutError,
    ray_exceptions.ObjectFetchTimedOutError,
    ray_exceptions.RayActorError,  # includes ActorDiedError, ActorUnavailableError
    ray_exceptions.WorkerCrashedError,
    ray_exceptions.NodeDiedError,
    ray_exceptions.LocalRayletDiedError,
    ray_exceptions.ReferenceCountingAssertionError,
    ray_exceptions.ObjectStoreFullError,
    ray_exceptions.OutOfMemoryError,
    ray_exceptions.TaskCancelledError,
    ray_exceptions.RaySystemError,
)

_counts_lock = threading.Lock()
_counts = {"get": 0, "put": 0}

_METRICS = {
    "get": ("eap_state_ray_gets", "ray.get calls made by the eap-state shell"),
    "put": ("eap_state_ray_puts", "ray.put calls made by the eap-state shell"),
    "hit": ("eap_state_cache_hits", "StateCache lookups answered without Ray"),
    "miss": ("eap_state_cache_misses", "StateCache lookups that needed a ray.get"),
}
_metrics_lock = threading.Lock()
_metrics: dict[str, Any] = {}
_metrics_disabled = False


def _metric(kind: str) -> Any:
    """Return the Counter for ``kind``, created on first use; None when metrics are unavailable.

    Created lazily because a Counter needs a connected Ray worker; a failure
    disables metrics for good rather than costing an exception per call.
    """
    global _metrics_disabled
    counter = _metrics.get(kind)
    if counter is not None or _metrics_disabled:
        return counter
    if not ray.is_initialized():
        return None
    with _metrics_lock:
        if kind not in _metrics and not _metrics_disabled:
            try:
                from ray.util.metrics import Counter

                name, description = _METRICS[kind]
                _metrics[kind] = Counter(name, description=description)
            except Exception:
                _metrics_disabled = True
        return _metrics.get(kind)


def _export(kind: str, amount: int = 1) -> None:
    """Add ``amount`` to the exported counter ``kind``; never raises."""
    global _metrics_disabled
    counter = _metric(kind)
    if counter is None or amount <= 0:
        return
    try:
        counter.inc(amount)
    except Exception:
        _metrics_disabled = True


def _count(kind: str) -> None:
    with _counts_lock:
        _counts[kind] += 1
    _export(kind)


def count_cache(hits: int = 0, misses: int = 0) -> None:
    """Export cache hits and misses as Ray metrics (the cache keeps its own exact stats).

    Args:
        hits: Lookups answered from the cache.
        misses: Lookups that needed Ray.
    """
    _export("hit", hits)
    _export("miss", misses)


def ray_op_counts() -> dict[str, int]:
    """Return how many ``ray.get`` and ``ray.put`` calls the shell made.

    Returns:
        ``{"get": n, "put": m}`` since start or the last `reset_ray_op_counts`;
        one ``ray.get`` of a list of refs counts once.
    """
    with _counts_lock:
        return dict(_counts)


def reset_ray_op_counts() -> None:
    """Set both counts back to zero (the exported metrics, being counters, keep growing)."""
    with _counts_lock:
        _counts["get"] = 0
        _counts["put"] = 0


def describe_ref(ref: Any) -> str:
    """Return a short, stable name for a ref for messages (its hex id when it has one)."""
    hex_id = getattr(ref, "hex", None)
    if callable(hex_id):
        try:
            return f"ObjectRef({hex_id()})"
        except Exception:
            pass
    return describe(ref)


def check_ref(ref: Any, field: str = "ref") -> ray.ObjectRef[Any]:
    """Return ``ref`` if it is an ObjectRef.

    Raises:
        InvalidArgumentError: otherwise, naming ``field`` and the value.
    """
    if not isinstance(ref, ray.ObjectRef):
        raise InvalidArgumentError(
            f"{field} must be a ray.ObjectRef, got {type(ref).__name__}: {describe(ref)}",
            field=field,
            value=ref,
        )
    return ref


def check_refs(refs: Any, field: str = "refs") -> list[ray.ObjectRef[Any]]:
    """Return ``refs`` as a list after checking every item is an ObjectRef.

    Raises:
        InvalidArgumentError: ``refs`` is not a sequence, or an item is not an
            ObjectRef (the error carries its ``index``).
    """
    if isinstance(refs, (str, bytes)) or not isinstance(refs, Sequence):
        raise InvalidArgumentError(
            f"{field} must be a sequence of ray.ObjectRef, "
            f"got {type(refs).__name__}: {describe(refs)}",
            field=field,
            value=refs,
        )
    for index, ref in enumerate(refs):
        if not isinstance(ref, ray.ObjectRef):
            raise InvalidArgumentError(
                f"{field}[{index}] must be a ray.ObjectRef, "
                f"got {type(ref).__name__}: {describe(ref)}",
                field=field,
                value=ref,
                index=index,
            )
    return list(refs)


def unwrap_ray_error(err: BaseException) -> BaseException | None:
    """Return the library error a Ray task or actor raised, if ``err`` wraps one.

    Ray re-raises a remote exception as ``RayTaskError(<its type>)`` whose
    ``cause`` is the original; a task that called another task nests them.

    Args:
        err: An exception caught around a Ray call.

    Returns:
        The innermost `StateError` found through ``cause`` chains, or None.
    """
    seen = 0
    current: BaseException | None = err
    while isinstance(current, ray_exceptions.RayTaskError) and seen < 16:
        current = getattr(current, "cause", None)
        seen += 1
    if isinstance(current, StateError) and not isinstance(current, ray_exceptions.RayError):
        return current
    return None


def require_ray(what: str) -> None:
    """Raise unless this process is connected to Ray; O(1).

    Args:
        what: What was about to use Ray, for the message.

    Raises:
        StateUnavailable: Ray is not running here (never started, or shut down).
    """
    if not ray.is_initialized():
        raise StateUnavailable(
            f"{what} is unavailable: Ray is not running in this process (call ray.init() "
            "first; eap-state never starts Ray itself)",
            field="ray",
            value=what,
        )


def translate_ray_error(err: BaseException, what: str) -> BaseException:
    """Return the exception the caller should see for a failed Ray call.

    Args:
        err: The exception Ray raised.
        what: What was being fetched or called, e.g. ``describe_ref(ref)``.

    Returns:
        The unwrapped library error; `StateUnavailable` naming ``what`` for a
        Ray failure, including a task or actor call that raised an error of
        its own (``RayTaskError(KeyError)``: the value it was to produce can
        never be read); ``err`` itself for anything else.
    """
    inner = unwrap_ray_error(err)
    if inner is not None:
        return inner
    if isinstance(err, ray_exceptions.RayTaskError):
        cause = getattr(err, "cause", None)
        why = "failed" if cause is None else f"raised {type(cause).__name__}: {describe(cause)}"
        return _unavailable(
            f"{what} could not be read: the Ray task or actor call that produces it {why}",
            what,
            err,
        )
    if isinstance(err, _UNAVAILABLE):
        kind = type(err).__name__
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else kind
        return _unavailable(f"{what} is unavailable ({kind}): {first_line}", what, err)
    return err


def _unavailable(message: str, what: str, err: BaseException) -> StateUnavailable:
    unavailable = StateUnavailable(message, field="ref", value=what)
    unavailable.__cause__ = err
    return unavailable


def raise_translated(err: BaseException, what: str) -> NoReturn:
    """Raise what `translate_ray_error` makes of ``err`` (``err`` itself, unchanged, if nothing).

    Call it from the ``except`` block that caught ``err``.
    """
    raise_as(translate_ray_error(err, what), err)


def raise_as(translated: BaseException, err: BaseException) -> NoReturn:
    """Raise ``translated`` from ``err``, or ``err`` itself (traceback whole) if they are one."""
    if translated is err:
        raise err
    raise translated from err


def _raise_failed(err: BaseException, what: str, failed: str) -> NoReturn:
    """Raise what `translate_ray_error` makes of ``err``, else `StateUnavailable` saying ``failed``.

    Unlike `raise_translated`, an error Ray's translation does not know is
    not let through: a failed ``ray.get``/``ray.put`` is always the state being unavailable.
    """
    translated = translate_ray_error(err, what)
    if translated is err:
        translated = _unavailable(f"{failed}: {type(err).__name__}: {describe(err)}", what, err)
    raise translated from err


_loop_warned = False


def warn_if_in_event_loop() -> None:
    """Warn, once per process, that a sync call is blocking the event loop of this thread.

    The warning names the public method the caller used and its async twin
    (``StateStore.job_summary`` -> ``AsyncStateStore.job_summary``), and points
    at the caller's line. O(1) once warned; O(stack depth) the one time it warns.
    """
    global _loop_warned
    if _loop_warned:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    _loop_warned = True
    # The outermost shell frame is the public method the caller used.
    frame: FrameType | None = sys._getframe(1)
    depth, public, public_depth = 1, "the sync API", 1
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("shell.") and not module.startswith("shell.demo"):
            code = frame.f_code
            public, public_depth = getattr(code, "co_qualname", code.co_name), depth
        frame, depth = frame.f_back, depth + 1
    warnings.warn(
        f"{public} was called from a thread running an asyncio event loop: it blocks the loop "
        f"for a whole Ray round trip. Await its async twin Async{public} instead "
        "(from shell import ...).",
        RuntimeWarning,
        stacklevel=public_depth + 2,
    )


def ray_get(refs: Any, *, timeout: float | None = None) -> Any:
    """``ray.get`` one ref or a list of refs in one call, counted and translated.

    Args:
        refs: An ObjectRef or a list of ObjectRefs.
        timeout: Seconds to wait; None waits for ever.

    Returns:
        The value, or the list of values in the order of ``refs``.

    Raises:
        InvalidArgumentError: ``refs`` holds something that is not an ObjectRef,
            or ``timeout`` is negative.
        StateUnavailable: Ray is not running, the object is lost, its owner
            died, the task producing it failed, the wait timed out, or Ray
            failed in any other way (the cause is chained).
        StateError: a library error raised remotely, unwrapped to its own type.
    """
    many = isinstance(refs, list)
    targets = check_refs(refs) if many else check_ref(refs)
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not timeout >= 0  # NaN too
    ):
        raise InvalidArgumentError(
            f"timeout must be seconds >= 0 or None, got {describe(timeout)}",
            field="timeout",
            value=timeout,
        )
    if not ray.is_initialized():
        require_ray(_described(refs))
    warn_if_in_event_loop()
    _count("get")
    try:
        return ray.get(targets, timeout=timeout)
    except Exception as err:
        what = _described(refs)
        _raise_failed(err, what, f"{what} could not be read")


def _described(refs: Any) -> str:
    """How `ray_get`'s errors name what it was reading: written only when one is raised."""
    return f"one of {len(refs)} refs" if isinstance(refs, list) else describe_ref(refs)


def ray_put(value: Any) -> ray.ObjectRef[Any]:
    """``ray.put`` a value, counted and translated.

    Args:
        value: The (immutable) state to store.

    Returns:
        The new ObjectRef.

    Raises:
        StateUnavailable: Ray is not running, or the object store refused the
            value (full, Ray gone, or it could not be serialised; the cause is chained).
    """
    what = f"ray.put of a {type(value).__name__}"
    require_ray(what)
    _count("put")
    try:
        return ray.put(value)
    except Exception as err:
        _raise_failed(err, what, f"{what} failed")
