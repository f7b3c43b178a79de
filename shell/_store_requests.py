"""What a store handle sends, validated and built once for the sync and the async handle.

Every public method of `shell.store.StateStore` (and of its async twin) is
three steps: check the arguments here, before any remote call; build one
`StoreRequest` (the actor method, its arguments and, for a change, a
``command_id``); send it. Only the sending differs between the two handles
(``ray.get`` or ``await``), and both turn a failed send into the caller's
error with the one function here, `send_error`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, NoReturn

import ray
from ray import exceptions as ray_exceptions

from core.budget.money import to_money
from core.budget.reducers import new_budget
from core.errors import StateError
from shell._changes import WAIT_GROUP, WAIT_THREADS
from shell.errors import InvalidArgumentError, StateUnavailable, StoreExistsError
from shell.inputs import as_batch, check_seconds, stamp_task_updates
from shell.ray_ops import translate_ray_error
from shell.store_actor import PROTOCOL, StoreCore

__all__ = [
    "StoreConnection",
    "StorePlan",
    "StoreRequest",
    "add_tasks",
    "budget_state",
    "budget_summary",
    "check_name",
    "check_store_answer",
    "closed_error",
    "connect_plan",
    "create_job",
    "create_plan",
    "job_state",
    "job_summary",
    "list_jobs",
    "lookup_actor",
    "ping",
    "poll_job",
    "raise_send_error",
    "record_costs",
    "release",
    "reserve",
    "send_error",
    "start_actor",
    "update_tasks",
]


# max_restarts=0 on purpose: a restarted actor rebuilds from its constructor,
# i.e. an empty budget, and would silently grant spend already reserved. A
# dead store must be loud (StateUnavailable), not quietly reset.
# num_cpus=0: the store is a coordinator; it must not take a CPU slot the
# agent tasks it serves need (on a 2-CPU node it would halve them).
# max_concurrency=1 (a sync actor's default, stated for the reader): calls run one at a time.
_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_concurrency": 1}
# Waiting calls (shell._changes) run on threads of their own group; Ray takes
# concurrency_groups only here, not in .options().
_remote: Any = ray.remote  # Ray's stubs omit the concurrency_groups keyword
_RemoteStore: Any = _remote(concurrency_groups={WAIT_GROUP: WAIT_THREADS})(StoreCore)


class StoreRequest(NamedTuple):
    """One call to the store actor.

    Attributes:
        method: The `shell.store_actor.StoreCore` method to call.
        args: Its positional arguments, already validated.
        command_id: For a call that changes the store, the id that makes a
            resend apply at most once; None for a read.
    """

    method: str
    args: tuple[Any, ...]
    command_id: str | None = None


class StorePlan(NamedTuple):
    """A validated `StateStore.create`: the actor's options and constructor arguments."""

    options: dict[str, Any]
    init_args: tuple[Any, ...]
    name: str | None
    namespace: str | None
    timeout: float | None


class StoreConnection(NamedTuple):
    """A validated `StateStore.connect`: where the actor is and how long calls may wait."""

    name: str
    namespace: str | None
    timeout: float | None


def check_name(value: Any, field: str) -> str:
    """Return ``value`` if it is a non-empty str.

    Raises:
        InvalidArgumentError: naming ``field`` and the value.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{field} must be a non-empty str, got {value!r}", field=field, value=value
        )
    return value


def _command_id(command_id: Any) -> str:
    """Return the caller's command id, or a fresh one (uuid4 hex) when None."""
    return uuid.uuid4().hex if command_id is None else check_name(command_id, "command_id")


def create_plan(
    budget_config: Mapping[str, Any] | None,
    agents_config: Iterable[Mapping[str, Any]],
    name: str | None,
    namespace: str | None,
    detached: bool,
    timeout: float | None,
) -> StorePlan:
    """Validate `StateStore.create`'s arguments (the configs with the core) into a `StorePlan`.

    Raises:
        BudgetError: a config is invalid.
        InvalidArgumentError: ``name``, ``namespace``, ``detached`` or ``timeout`` is invalid.
    """
    agents = list(agents_config) if isinstance(agents_config, Iterable) else agents_config
    new_budget(budget_config, agents)
    name = None if name is None else check_name(name, "name")
    namespace = None if namespace is None else check_name(namespace, "namespace")
    if not isinstance(detached, bool):
        raise InvalidArgumentError(
            f"detached must be a bool, got {detached!r}", field="detached", value=detached
        )
    if detached and name is None:
        # An unnamed detached actor could never be reached or shut down again.
        raise InvalidArgumentError(
            "a detached store needs a name, got name=None", field="name", value=None
        )
    timeout = check_seconds(timeout, "timeout", none_ok=True)
    options = dict(_ACTOR_OPTIONS)
    if name is not None:
        options["name"] = name
        options["namespace"] = namespace
    if detached:
        options["lifetime"] = "detached"
    return StorePlan(options, (budget_config, agents), name, namespace, timeout)


def start_actor(plan: StorePlan) -> Any:
    """Start the store actor of ``plan`` and return its handle (its constructor runs later).

    Raises:
        StoreExistsError: the plan's name is already taken in its namespace.
        StateUnavailable: Ray could not start it.
    """
    try:
        return _RemoteStore.options(**plan.options).remote(*plan.init_args)
    except ValueError as err:
        if plan.name is not None and "already taken" in str(err):
            raise StoreExistsError(
                f"a Ray actor named {plan.name!r} already exists in namespace {plan.namespace!r}",
                field="name",
                value=plan.name,
            ) from err
        raise_send_error(None, err, f"store {plan.name!r}")
    except Exception as err:
        raise_send_error(None, err, f"store {plan.name!r}")


def connect_plan(name: Any, namespace: Any, timeout: Any) -> StoreConnection:
    """Validate `StateStore.connect`'s arguments.

    Raises:
        InvalidArgumentError: ``name``, ``namespace`` or ``timeout`` is invalid.
    """
    name = check_name(name, "name")
    namespace = None if namespace is None else check_name(namespace, "namespace")
    return StoreConnection(name, namespace, check_seconds(timeout, "timeout", none_ok=True))


def lookup_actor(connection: StoreConnection) -> Any:
    """Return the handle of the live actor named in ``connection``.

    Raises:
        StateUnavailable: no live actor has that name.
    """
    try:
        return ray.get_actor(connection.name, namespace=connection.namespace)
    except ValueError as err:
        raise StateUnavailable(
            f"no StateStore named {connection.name!r} in namespace {connection.namespace!r}: {err}",
            field="name",
            value=connection.name,
        ) from err


def check_store_answer(answer: Any, connection: StoreConnection) -> None:
    """Accept ``answer`` to `ping` only if it is the store's `PROTOCOL` string.

    Raises:
        StateUnavailable: the actor is not a store, naming it.
    """
    if answer != PROTOCOL:
        raise StateUnavailable(
            f"the actor named {connection.name!r} in namespace {connection.namespace!r} "
            "is not a StateStore",
            field="name",
            value=connection.name,
        )


def closed_error(what: str) -> StateUnavailable:
    """Return the error of a call on a handle that was shut down."""
    return StateUnavailable(f"{what} was shut down", field="store", value=what)


def send_error(request: StoreRequest | None, err: BaseException, what: str) -> BaseException:
    """Return the exception a caller sees when sending ``request`` to the store ``what`` failed.

    A library error the actor raised comes back as itself; a Ray failure or a
    timeout (Ray's or asyncio's) becomes `StateUnavailable` naming the store;
    anything else is returned unchanged (a bug, not an outcome).
    """
    if isinstance(err, StateUnavailable):
        unavailable = StateUnavailable(f"{what} is unavailable: {err}", field="store", value=what)
        unavailable.__cause__ = err
        return unavailable
    if isinstance(err, StateError):
        return err
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)) and not isinstance(
        err, ray_exceptions.RayError
    ):
        err = ray_exceptions.GetTimeoutError(str(err) or "timed out")
    translated = translate_ray_error(err, what)
    if isinstance(translated, StateUnavailable):
        return send_error(request, translated, what)
    return translated


def raise_send_error(request: StoreRequest | None, err: BaseException, what: str) -> NoReturn:
    """Raise what `send_error` makes of ``err``; call it from the ``except`` that caught it."""
    translated = send_error(request, err, what)
    if translated is err:
        raise err
    raise translated from err


def ping() -> StoreRequest:
    """The request that proves the actor is alive and is a store."""
    return StoreRequest("ping", ())


def create_job(description: Any, job_id: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.create_job`'s arguments; stamp ``created_at`` with ``time.time()``.

    Raises:
        InvalidArgumentError: ``job_id`` is not a non-empty str or None, or
            ``description`` is not a str.
    """
    job_id = uuid.uuid4().hex if job_id is None else check_name(job_id, "job_id")
    if not isinstance(description, str):
        raise InvalidArgumentError(
            f"description must be a str, got {description!r}",
            field="description",
            value=description,
        )
    return StoreRequest("create_job", (job_id, description, time.time()), _command_id(command_id))


def add_tasks(job_id: Any, tasks: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.add_tasks`'s arguments.

    Raises:
        InvalidArgumentError: ``job_id`` or ``tasks`` has the wrong type.
    """
    check_name(job_id, "job_id")
    return StoreRequest("add_tasks", (job_id, as_batch(tasks, "tasks")), _command_id(command_id))


def update_tasks(job_id: Any, updates: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.update_tasks`'s arguments; stamp ``time.time()`` on updates without ``at``.

    Raises:
        InvalidArgumentError: ``job_id`` or ``updates`` has the wrong type.
        InvalidUpdateError: a malformed update, naming its index.
    """
    check_name(job_id, "job_id")
    batch = stamp_task_updates(updates, time.time())
    return StoreRequest("update_tasks", (job_id, batch), _command_id(command_id))


def job_summary(job_id: Any) -> StoreRequest:
    """Check `StateStore.job_summary`'s argument.

    Raises:
        InvalidArgumentError: bad ``job_id``.
    """
    return StoreRequest("job_summary", (check_name(job_id, "job_id"),))


def job_state(job_id: Any) -> StoreRequest:
    """Check `StateStore.job_state`'s argument.

    Raises:
        InvalidArgumentError: bad ``job_id``.
    """
    return StoreRequest("job_state", (check_name(job_id, "job_id"),))


def poll_job(job_id: Any, since_version: Any) -> StoreRequest:
    """Check `StateStore.poll_job`'s arguments.

    Raises:
        InvalidArgumentError: bad ``job_id`` or ``since_version``.
    """
    check_name(job_id, "job_id")
    if since_version is not None and (
        isinstance(since_version, bool) or not isinstance(since_version, int)
    ):
        raise InvalidArgumentError(
            f"since_version must be an int or None, got {since_version!r}",
            field="since_version",
            value=since_version,
        )
    return StoreRequest("poll_job", (job_id, since_version))


def reserve(
    agent_name: Any, agent_config: Any, reservation_id: Any, command_id: Any = None
) -> StoreRequest:
    """Check `StateStore.reserve`'s arguments.

    Raises:
        InvalidArgumentError: a bad ``agent_name``, ``agent_config`` or ``reservation_id``.
    """
    check_name(agent_name, "agent_name")
    if reservation_id is not None:
        check_name(reservation_id, "reservation_id")
    if agent_config is not None and not isinstance(agent_config, Mapping):
        raise InvalidArgumentError(
            f"agent_config must be a mapping or None, got {agent_config!r}",
            field="agent_config",
            value=agent_config,
        )
    config = None if agent_config is None else dict(agent_config)
    return StoreRequest("reserve", (agent_name, config, reservation_id), _command_id(command_id))


def release(agent_name: Any, amount: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.release`'s arguments.

    Raises:
        InvalidArgumentError: bad ``agent_name``.
        BudgetError: a bad amount.
    """
    check_name(agent_name, "agent_name")
    to_money(amount, "amount")
    return StoreRequest("release", (agent_name, amount), _command_id(command_id))


def record_costs(records: Any, command_id: Any = None) -> StoreRequest | None:
    """Check `StateStore.record_costs`'s argument; None for an empty batch (nothing to send).

    Raises:
        InvalidArgumentError: ``records`` is not an iterable of mappings.
    """
    batch = as_batch(records, "records", mappings=True)
    if not batch:
        return None
    return StoreRequest("record_costs", ([dict(r) for r in batch],), _command_id(command_id))


def list_jobs() -> StoreRequest:
    """The request for `StateStore.list_jobs`."""
    return StoreRequest("list_jobs", ())


def budget_summary() -> StoreRequest:
    """The request for `StateStore.budget_summary`."""
    return StoreRequest("budget_summary", ())


def budget_state() -> StoreRequest:
    """The request for `StateStore.budget_state`."""
    return StoreRequest("budget_state", ())
