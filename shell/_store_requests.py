"""What a store handle sends, validated and built once for the sync and the async handle.

Every public method of `shell.store.StateStore` (and of its async twin) is
three steps: check the arguments here, before any remote call; build one
`StoreRequest` (the actor method and its arguments; a change travels as one
`core.ledger.Command` with its ``command_id``); send it. Only the sending
differs between the two handles (``ray.get`` or ``await``), and both turn a
failed send into the caller's error with the one function `send_error`
(`shell._store_sending`): a change that timed out is `OutcomeUnknown`,
carrying the id to resend with. Starting, finding and stopping the actor
(`shell._store_lifecycle`) is re-exported here, so a handle needs one module.
"""

from __future__ import annotations

import time
from typing import Any

from core.batch_args import plain_mapping
from core.errors import describe
from core.jobs.update_batch import UpdateBatch, parse_updates
from core.ledger import (
    Command,
    add_tasks_command,
    close_job_command,
    command_to_wire,
    create_job_command,
    record_costs_command,
    release_command,
    reserve_command,
    update_tasks_command,
)
from shell._store_lifecycle import (
    MAX_TIMEOUT,
    StoreConnection,
    StorePlan,
    check_store_answer,
    check_timeout,
    connect_plan,
    create_plan,
    discard_actor,
    lookup_actor,
    recover_plan,
    start_actor,
)
from shell._store_sending import (
    StoreRequest,
    check_name,
    closed_error,
    new_command_id,
    raise_send_error,
    send_error,
)
from shell.errors import InvalidArgumentError
from shell.inputs import as_batch, check_release_args, check_reserve_args, check_version

__all__ = [
    "MAX_TIMEOUT",
    "StoreConnection",
    "StorePlan",
    "StoreRequest",
    "add_tasks",
    "budget_state",
    "budget_summary",
    "check_name",
    "check_store_answer",
    "check_timeout",
    "close_job",
    "closed_error",
    "connect_plan",
    "create_job",
    "create_plan",
    "discard_actor",
    "job_state",
    "job_summary",
    "list_jobs",
    "lookup_actor",
    "new_command_id",
    "ping",
    "poll_job",
    "raise_send_error",
    "record_costs",
    "recover_plan",
    "release",
    "reserve",
    "send_error",
    "start_actor",
    "store_info",
    "update_tasks",
]


def _change(command: Command) -> StoreRequest:
    # An update batch travels as its journal entry's text, which Ray copies without
    # looking inside (core.ledger._wire says why); any other command goes as it is.
    return StoreRequest("execute", (command_to_wire(command),), command.command_id)


def ping() -> StoreRequest:
    """The request that proves the actor is alive and is a store."""
    return StoreRequest("ping", ())


def store_info() -> StoreRequest:
    """The request for `StateStore.info`."""
    return StoreRequest("store_info", ())


def create_job(description: Any, job_id: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.create_job`'s arguments; stamp ``created_at`` with ``time.time()``.

    Without a ``job_id`` the job takes the command id as its id, so a resend
    under that id names the same job.

    Raises:
        InvalidArgumentError: ``job_id`` is not a non-empty str or None, or
            ``description`` is not a str.
    """
    command_id = new_command_id(command_id)
    job_id = command_id if job_id is None else check_name(job_id, "job_id")
    if not isinstance(description, str):
        raise InvalidArgumentError(
            f"description must be a str, got {describe(description)}",
            field="description",
            value=description,
        )
    return _change(create_job_command(command_id, job_id, description, time.time()))


def add_tasks(job_id: Any, tasks: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.add_tasks`'s arguments.

    Raises:
        InvalidArgumentError: ``job_id`` or ``tasks`` has the wrong type.
        InvalidTaskError: a malformed task, naming its index.
    """
    check_name(job_id, "job_id")
    batch = as_batch(tasks, "tasks")
    return _change(add_tasks_command(new_command_id(command_id), job_id, batch))


def update_tasks(job_id: Any, updates: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.update_tasks`'s arguments; updates without ``at`` get ``time.time()``.

    O(n): the batch is parsed once here into an `UpdateBatch`; the actor checks it once more.

    Raises:
        InvalidArgumentError: ``job_id`` or ``updates`` has the wrong type.
        InvalidUpdateError: a malformed update, naming its index.
    """
    check_name(job_id, "job_id")
    # Parsed once here, unstamped: the command's one time stamps the updates
    # that carry none when it is applied, so a resend under the same id has the
    # same arguments (and digest) as the first send.
    if not isinstance(updates, UpdateBatch):
        updates = as_batch(updates, "updates")
    batch = parse_updates(updates)
    return _change(update_tasks_command(new_command_id(command_id), job_id, batch, time.time()))


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
    check_version(since_version)
    return StoreRequest("poll_job", (job_id, since_version))


def reserve(
    agent_name: Any, agent_config: Any, reservation_id: Any, command_id: Any = None
) -> StoreRequest:
    """Check `StateStore.reserve`'s arguments.

    Raises:
        InvalidArgumentError: a bad ``agent_name``, ``agent_config`` or ``reservation_id``.
        BudgetError: a bad config block.
    """
    check_reserve_args(agent_name, agent_config, reservation_id)
    command_id = new_command_id(command_id)
    return _change(reserve_command(command_id, agent_name, agent_config, reservation_id))


def release(
    agent_name: Any, amount: Any, reservation_id: Any = None, command_id: Any = None
) -> StoreRequest:
    """Check `StateStore.release`'s arguments.

    Raises:
        InvalidArgumentError: bad ``agent_name`` or ``reservation_id``.
        BudgetError: a bad amount.
    """
    check_release_args(agent_name, reservation_id)
    command_id = new_command_id(command_id)
    return _change(release_command(command_id, agent_name, amount, reservation_id))


def record_costs(records: Any, command_id: Any = None) -> StoreRequest | None:
    """Check `StateStore.record_costs`'s argument; None for an empty batch (nothing to send).

    Raises:
        InvalidArgumentError: ``records`` is not an iterable of mappings.
        BudgetError: a malformed record, naming its index.
    """
    batch = as_batch(records, "records", mappings=True)
    if not batch:
        return None
    # Each caller mapping is read once, here: a raising mapping is the caller's error.
    plain = [plain_mapping(r, f"records[{i}]", InvalidArgumentError) for i, r in enumerate(batch)]
    return _change(record_costs_command(new_command_id(command_id), plain))


def close_job(job_id: Any, command_id: Any = None) -> StoreRequest:
    """Check `StateStore.close_job`'s arguments.

    Raises:
        InvalidArgumentError: bad ``job_id``.
    """
    check_name(job_id, "job_id")
    return _change(close_job_command(new_command_id(command_id), job_id))


def list_jobs() -> StoreRequest:
    """The request for `StateStore.list_jobs`."""
    return StoreRequest("list_jobs", ())


def budget_summary() -> StoreRequest:
    """The request for `StateStore.budget_summary`."""
    return StoreRequest("budget_summary", ())


def budget_state() -> StoreRequest:
    """The request for `StateStore.budget_state`."""
    return StoreRequest("budget_state", ())
