"""Requests that wait for a change, and how either store handle sends any request.

`wait_job` and `wait_budget` are validated and built here like the other
requests of `shell._store_requests`; they run in the actor's waiting group
(`shell._changes.WAIT_GROUP`) and may take up to their own timeout, which
`submit` and `reply_timeout` account for, once, for the sync and the async handle.
"""

from __future__ import annotations

from typing import Any

from shell import _store_requests as requests
from shell._changes import WAIT_GROUP, WAIT_METHODS
from shell._store_requests import StoreRequest
from shell.errors import InvalidArgumentError

__all__ = ["reply_timeout", "submit", "wait_budget", "wait_job"]


def wait_job(job_id: Any, since_version: Any, timeout: Any) -> StoreRequest:
    """Check `StateStore.wait_job`'s arguments (as `poll_job`'s, and ``timeout`` > 0 seconds).

    Raises:
        InvalidArgumentError: bad ``job_id``, ``since_version`` or ``timeout``.
    """
    requests.poll_job(job_id, since_version)
    return StoreRequest("wait_job", (job_id, since_version, _wait_seconds(timeout)))


def wait_budget(since_version: Any, timeout: Any) -> StoreRequest:
    """Check `StateStore.wait_budget`'s arguments.

    Raises:
        InvalidArgumentError: bad ``since_version`` or ``timeout``.
    """
    requests.poll_job("budget", since_version)  # the same version check as poll_job's
    return StoreRequest("wait_budget", (since_version, _wait_seconds(timeout)))


def _wait_seconds(timeout: Any) -> float:
    """A wait's timeout: seconds > 0, at most what a handle's timeout may be."""
    seconds = requests.check_timeout(timeout)
    if seconds is None:
        raise InvalidArgumentError(
            "timeout must be seconds > 0, got None", field="timeout", value=None
        )
    return seconds


def submit(actor: Any, request: StoreRequest) -> Any:
    """Submit ``request`` to the store actor and return its ObjectRef (no waiting).

    A waiting request goes to the waiting group, so it never queues behind
    (or holds up) a writer.
    """
    method = getattr(actor, request.method)
    if request.method in WAIT_METHODS:
        method = method.options(concurrency_group=WAIT_GROUP)
    return method.remote(*request.args)


def reply_timeout(request: StoreRequest, timeout: float | None) -> float | None:
    """Return how long to wait for the reply to ``request`` with a handle's ``timeout``.

    A waiting request may legitimately take its own wait on top of the
    handle's allowance for a round trip.
    """
    if timeout is None or request.method not in WAIT_METHODS:
        return timeout
    waited: float = request.args[-1]
    return timeout + waited
