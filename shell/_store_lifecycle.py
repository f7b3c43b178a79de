"""Starting, finding and stopping a store's actor, shared by the sync and the async handle.

`create_plan` and `recover_plan` validate everything (configs with the core,
the journal URL, names, timeouts) before any actor exists; `start_actor`
starts it; `discard_actor` removes an actor whose start failed, so a failed
create leaves nothing behind; `check_store_answer` tells a store from another actor.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import ray

from core.errors import describe
from core.ledger import create_store_command
from shell._changes import WAIT_GROUP, WAIT_THREADS
from shell._heap import collect_young_rarely
from shell._store_sending import check_name, new_command_id, raise_send_error
from shell.errors import InvalidArgumentError, StateUnavailable, StoreExistsError, UnknownStoreError
from shell.inputs import check_count, check_seconds
from shell.journal import open_journal
from shell.ray_ops import require_ray
from shell.store_actor import PROTOCOL, STORE_METHODS, StoreCore

__all__ = [
    "MAX_TIMEOUT",
    "StoreConnection",
    "StorePlan",
    "check_store_answer",
    "check_timeout",
    "connect_plan",
    "create_plan",
    "discard_actor",
    "lookup_actor",
    "recover_plan",
    "start_actor",
]

# Without a journal, max_restarts=0 on purpose: a restarted actor rebuilds from
# its constructor, i.e. an empty budget, and would silently grant spend already
# reserved. A dead store must be loud (StateUnavailable), not quietly reset.
# num_cpus=0: the store is a coordinator; it must not take a CPU slot the
# agent tasks it serves need (on a 2-CPU node it would halve them).
# max_concurrency=1 (a sync actor's default, stated for the reader): calls run one at a time.
_ACTOR_OPTIONS: dict[str, Any] = {"num_cpus": 0, "max_restarts": 0, "max_concurrency": 1}
# With a journal a restart recovers every acknowledged command, and command ids
# make Ray's redelivery of a call harmless: restart for ever, retry every call.
# One thread by default, as without a journal: each call commits its own
# commands (a batch, a handle's coalesced calls) before it replies. On a fast
# local disk that beats sharing commits between separate callers, whose thread
# hand-offs cost more than the syncs they save (docs/performance-notes.md).
_JOURNALED_OPTIONS: dict[str, Any] = {**_ACTOR_OPTIONS, "max_restarts": -1, "max_task_retries": -1}
# group_commit=True: threads let the calls that arrive while a commit is under
# way share the next one (StoreCore applies them one at a time under its lock).
_GROUP_COMMIT_THREADS = 16
# Waiting calls (shell._changes) run on threads of their own group; Ray takes
# concurrency_groups only here, not in .options().
_remote: Any = ray.remote  # Ray's stubs omit the concurrency_groups keyword


class _StoreProcess(StoreCore):
    """`StoreCore` as the actor runs it: in a process of its own, with its collector tuned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        collect_young_rarely()  # why: shell._heap
        super().__init__(*args, **kwargs)


_RemoteStore: Any = _remote(concurrency_groups={WAIT_GROUP: WAIT_THREADS})(_StoreProcess)
#: Longest call timeout accepted, in seconds (Ray keeps timeouts as int64 nanoseconds).
MAX_TIMEOUT = 10.0**9
# Longest a discard waits for the killed actor to stop answering.
_KILL_WAIT = 10.0


class StorePlan(NamedTuple):
    """A validated `StateStore.create` or `StateStore.recover`: the actor's options and args."""

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


def check_timeout(value: Any) -> float | None:
    """Return a call timeout: finite seconds in (0, `MAX_TIMEOUT`], or None (wait for ever).

    Raises:
        InvalidArgumentError: naming ``timeout`` and the value.
    """
    too_long = (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_TIMEOUT
    )
    timeout = None if too_long else check_seconds(value, "timeout", none_ok=True)
    if too_long:
        raise InvalidArgumentError(
            f"timeout must be at most {MAX_TIMEOUT:.0f} seconds, or None to wait for ever; "
            f"got {describe(value)}",
            field="timeout",
            value=value,
        )
    return timeout


# Options that make the store what it is: a caller may not override them.
_OWN_OPTIONS = frozenset(
    {"name", "namespace", "lifetime", "max_restarts", "max_task_retries", "max_concurrency"}
)


def _extra_options(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise InvalidArgumentError(
            f"actor_options must be a mapping of Ray actor options, got {describe(value)}",
            field="actor_options",
            value=value,
        )
    for key in value:
        if key in _OWN_OPTIONS:
            raise InvalidArgumentError(
                f"actor_options may not set {describe(key)}: the store sets it itself",
                field="actor_options",
                value=key,
            )
    return dict(value)


def _actor_options(
    name: str | None,
    namespace: str | None,
    detached: Any,
    journaled: bool,
    extra: Any = None,
    group_commit: Any = False,
) -> dict[str, Any]:
    own = _extra_options(extra)
    for field, value in (("detached", detached), ("group_commit", group_commit)):
        if not isinstance(value, bool):
            raise InvalidArgumentError(
                f"{field} must be a bool, got {describe(value)}", field=field, value=value
            )
    if group_commit and not journaled:
        raise InvalidArgumentError(
            "group_commit=True needs a journal: a store in memory commits nothing",
            field="group_commit",
            value=group_commit,
        )
    if detached and name is None:
        # An unnamed detached actor could never be reached or shut down again.
        raise InvalidArgumentError(
            "a detached store needs a name, got name=None", field="name", value=None
        )
    options = {**own, **(_JOURNALED_OPTIONS if journaled else _ACTOR_OPTIONS)}
    if "num_cpus" in own:
        options["num_cpus"] = own["num_cpus"]
    if group_commit:
        options["max_concurrency"] = _GROUP_COMMIT_THREADS
    if name is not None:
        options["name"] = name
        options["namespace"] = namespace
    if detached:
        options["lifetime"] = "detached"
    return options


def create_plan(
    budget_config: Mapping[str, Any] | None,
    agents_config: Iterable[Mapping[str, Any]],
    name: Any,
    namespace: Any,
    detached: Any,
    timeout: Any,
    journal: Any = None,
    snapshot_every: Any = 1000,
    actor_options: Any = None,
    group_commit: Any = False,
) -> StorePlan:
    """Validate `StateStore.create`'s arguments into a `StorePlan`; a journal is checked free.

    Raises:
        BudgetError: a config is invalid.
        InvalidArgumentError: another argument is invalid (a journaled store needs a name).
        StoreExistsError: the journal already holds a store of that name.
        JournalUnavailable: the journal cannot be reached.
    """
    create = create_store_command(new_command_id(), budget_config, agents_config)
    name = None if name is None else check_name(name, "name")
    namespace = None if namespace is None else check_name(namespace, "namespace")
    timeout = check_timeout(timeout)
    check_count(snapshot_every, "snapshot_every")
    options = _actor_options(
        name, namespace, detached, journal is not None, actor_options, group_commit
    )
    if journal is None:
        return StorePlan(options, (create,), name, namespace, timeout)
    if name is None:
        raise InvalidArgumentError(
            "a journaled store needs a name (its rows are keyed by it), got name=None",
            field="name",
            value=None,
        )
    opened = open_journal(journal)
    try:
        if opened.first_command_id(name) is not None:
            raise StoreExistsError(
                f"journal {opened.describe()} already holds a store named {describe(name)}: "
                "StateStore.recover starts it again",
                field="name",
                value=name,
            )
    finally:
        opened.close()
    return StorePlan(options, (create, journal, name, snapshot_every), name, namespace, timeout)


def recover_plan(
    name: Any,
    journal: Any,
    namespace: Any,
    detached: Any,
    timeout: Any,
    snapshot_every: Any,
    actor_options: Any = None,
    group_commit: Any = False,
) -> StorePlan:
    """Validate `StateStore.recover`'s arguments; the journal must hold the store.

    Raises:
        InvalidArgumentError: an argument is invalid.
        UnknownStoreError: the journal holds no store of that name.
        JournalUnavailable: the journal cannot be reached.
    """
    name = check_name(name, "name")
    namespace = None if namespace is None else check_name(namespace, "namespace")
    timeout = check_timeout(timeout)
    check_count(snapshot_every, "snapshot_every")
    options = _actor_options(name, namespace, detached, True, actor_options, group_commit)
    opened = open_journal(journal)
    try:
        if opened.first_command_id(name) is None:
            raise UnknownStoreError(
                f"journal {opened.describe()} holds no store named {describe(name)}",
                field="name",
                value=name,
            )
    finally:
        opened.close()
    return StorePlan(options, (None, journal, name, snapshot_every), name, namespace, timeout)


def start_actor(plan: StorePlan) -> Any:
    """Start the store actor of ``plan`` and return its handle (its constructor runs later).

    Raises:
        StoreExistsError: the plan's name is already taken in its namespace.
        StateUnavailable: Ray is not running here, or could not start it.
    """
    # Without this check, .remote() would quietly start a local Ray of its own.
    require_ray(f"StateStore {describe(plan.name)}")
    try:
        return _RemoteStore.options(**plan.options).remote(*plan.init_args)
    except ValueError as err:
        if plan.name is not None and "already taken" in str(err):
            raise StoreExistsError(
                f"a Ray actor named {describe(plan.name)} already exists "
                f"in namespace {describe(plan.namespace)}",
                field="name",
                value=plan.name,
            ) from err
        raise_send_error(None, err, f"store {describe(plan.name)}")
    except Exception as err:
        raise_send_error(None, err, f"store {describe(plan.name)}")


def discard_actor(actor: Any) -> None:
    """Kill an actor for good and return once it answers no more (or after a few seconds).

    ``ray.kill`` only sends the kill: a call another handle makes right after it
    could still be served, and its name stays taken. Never raises.
    """
    try:
        ray.kill(actor, no_restart=True)
    except Exception:
        return  # already gone, or Ray is down: nothing is left running either way
    deadline = time.monotonic() + _KILL_WAIT
    while time.monotonic() < deadline:
        try:
            # No retries: a killed journaled store would be asked again and again.
            ray.get(actor.ping.options(max_task_retries=0).remote(), timeout=_KILL_WAIT)
        except ray.exceptions.RayActorError:
            return
        except ray.exceptions.GetTimeoutError:
            continue
        except Exception:
            return
        time.sleep(0.01)


def connect_plan(name: Any, namespace: Any, timeout: Any) -> StoreConnection:
    """Validate `StateStore.connect`'s arguments.

    Raises:
        InvalidArgumentError: ``name``, ``namespace`` or ``timeout`` is invalid.
    """
    name = check_name(name, "name")
    namespace = None if namespace is None else check_name(namespace, "namespace")
    return StoreConnection(name, namespace, check_timeout(timeout))


def _not_a_store(connection: StoreConnection, why: str) -> StateUnavailable:
    return StateUnavailable(
        f"the actor named {describe(connection.name)} "
        f"in namespace {describe(connection.namespace)} "
        f"is not a StateStore: {why}",
        field="name",
        value=connection.name,
    )


def lookup_actor(connection: StoreConnection) -> Any:
    """Return the handle of the live actor named in ``connection``, if it has a store's methods.

    Raises:
        StateUnavailable: Ray is not running, no live actor has that name, or it
            lacks a store method.
    """
    require_ray(f"StateStore {describe(connection.name)}")
    try:
        actor = ray.get_actor(connection.name, namespace=connection.namespace)
    except Exception as err:
        raise StateUnavailable(
            f"no StateStore named {describe(connection.name)} "
            f"in namespace {describe(connection.namespace)}: {err}",
            field="name",
            value=connection.name,
        ) from err
    for method in STORE_METHODS:
        try:
            getattr(actor, method)
        except AttributeError as err:
            raise _not_a_store(connection, f"it has no {describe(method)} method") from err
    return actor


def check_store_answer(answer: Any, connection: StoreConnection) -> None:
    """Accept a store's ping ``answer`` only if it is `PROTOCOL`.

    Args:
        answer: What the ping returned, or the exception it raised.
        connection: Where the actor was found, for the message.

    Raises:
        StateUnavailable: the actor answered otherwise or its ping failed (naming
            the actor); a store that cannot be reached raises its own `StateUnavailable`.
    """
    if isinstance(answer, StateUnavailable):
        raise answer
    if isinstance(answer, BaseException):
        why = f"its ping raised {type(answer).__name__}: {answer}"
        raise _not_a_store(connection, why) from answer
    if answer != PROTOCOL:
        raise _not_a_store(connection, f"its ping answered {describe(answer)}")
