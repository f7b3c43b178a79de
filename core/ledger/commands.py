"""Commands: every change a store makes, as a plain value with the id that makes it idempotent.

A command is built (and its arguments validated and made canonical) by one
factory per kind, on the caller's side. Its ``args`` hold only what the
caller chose; ``at`` is the caller's clock reading, used where the caller
gave no time. ``digest`` fingerprints ``kind`` and ``args`` (not ``at``): a
command resent under the same id with the same arguments is the same
command even when re-stamped, and one with other arguments is a conflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from core.batch_args import item_list
from core.budget.money import to_money
from core.budget.reducers import new_budget, record_costs
from core.budget.types import check_iterable, check_mapping, check_name
from core.errors import InvalidTaskError
from core.jobs._columns import UpdateColumns, to_update_columns
from core.jobs.job import new_job
from core.jobs.task import iter_task_records
from core.jobs.update_batch import batch_columns, trusted_columns
from core.ledger._values import dumps, encode_value, list_text, scalar_text
from core.timestamps import epoch_seconds

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "Command",
    "add_tasks_command",
    "close_job_command",
    "create_job_command",
    "create_store_command",
    "entry_body",
    "fingerprint",
    "make_command",
    "record_costs_command",
    "release_command",
    "reserve_command",
    "update_tasks_command",
]

#: Every command kind, in no particular order.
KINDS = frozenset(
    {
        "create_store",
        "create_job",
        "add_tasks",
        "update_tasks",
        "reserve",
        "release",
        "record_costs",
        "close_job",
    }
)


class Command(NamedTuple):
    """One change to a store; make one with the ``*_command`` factories.

    Attributes:
        command_id: Unique id; the store applies it at most once.
        kind: One of `KINDS`.
        args: The canonical arguments (validated, money as `Decimal`).
        at: The caller's clock reading (epoch seconds), or None.
        digest: Fingerprint of ``kind`` and ``args``, to tell a resend from a conflict.
        body: The command as its journal entry (`core.ledger.encoding`), built
            once by the caller so the store only writes it.
    """

    command_id: str
    kind: str
    args: tuple[Any, ...]
    at: float | None
    digest: str
    body: str


#: Version of the journal's entry and snapshot format; a newer one is refused on reading.
FORMAT_VERSION = 1


def fingerprint(kind: str, args_text: str) -> str:
    """Return the digest of a command's kind and encoded arguments (32 hex digits)."""
    text = f"{kind}:{args_text}"
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def entry_body(command_id: str, kind: str, at: float | None, digest: str, args_text: str) -> str:
    """Return a command's journal entry: versioned JSON text, arguments last."""
    # dumps of {"v", "id", "kind", "at", "digest", "args"}, field by field: the same text.
    return (
        f'{{"v":{FORMAT_VERSION},"id":{scalar_text(command_id)},"kind":{scalar_text(kind)},'
        f'"at":{scalar_text(at)},"digest":{scalar_text(digest)},"args":{args_text}}}'
    )


def make_command(command_id: Any, kind: str, args: tuple[Any, ...], at: Any = None) -> Command:
    """Return a `Command` of canonical ``args``, with its digest.

    Raises:
        StateError: a bad ``command_id`` or ``at``; `UnjournalableValueError` for
            arguments a journal could not record.
    """
    return _command(command_id, kind, args, at, dumps(encode_value(args, kind)))


def _command(command_id: Any, kind: str, args: tuple[Any, ...], at: Any, args_text: str) -> Command:
    """`make_command` of ``args`` whose JSON text (`dumps` of `encode_value`) is ``args_text``."""
    check_name(command_id, "command_id")
    stamp = epoch_seconds(at, "at", InvalidTaskError)
    digest = fingerprint(kind, args_text)
    body = entry_body(command_id, kind, stamp, digest, args_text)
    return Command(command_id, kind, args, stamp, digest, body)


def create_store_command(
    command_id: str,
    budget_config: Mapping[str, Any] | None,
    agents_config: Iterable[Mapping[str, Any]],
) -> Command:
    """The first command of every store: its budget and agents.

    Raises:
        BudgetError: a config is invalid (as `core.budget.new_budget`).
    """
    agents = check_iterable(agents_config, "agents_config")
    budget = new_budget(budget_config, agents)
    # Agents in config order, every amount exact: the canonical form of the config.
    names = [check_mapping(agent, "agent")["name"] for agent in agents]
    canonical = tuple(
        (name, budget.agents[name].expected_price, budget.agents[name].limit) for name in names
    )
    return make_command(command_id, "create_store", (budget.total_budget, canonical))


def create_job_command(command_id: str, job_id: str, description: str, at: Any) -> Command:
    """Create an empty job stamped ``at``.

    Raises:
        InvalidTaskError: a bad ``job_id`` or ``description``.
    """
    new_job(job_id, description, at)
    return make_command(command_id, "create_job", (job_id, description), at)


def add_tasks_command(command_id: str, job_id: str, tasks: Any) -> Command:
    """Append tasks, all or none; tasks travel as full `TaskRecord` tuples.

    Raises:
        InvalidTaskError: a malformed task, naming its index.
    """
    check_name(job_id, "job_id")
    specs = item_list(tasks, "tasks", InvalidTaskError, "tasks")
    records = tuple(iter_task_records(specs))
    return make_command(command_id, "add_tasks", (job_id, records))


def update_tasks_command(command_id: str, job_id: str, updates: Any, at: Any) -> Command:
    """Apply task updates in order, all or none; those without a time get ``at``.

    Raises:
        InvalidUpdateError: a malformed update, naming its index.
    """
    check_name(job_id, "job_id")
    trusted = trusted_columns(updates)
    if trusted is not None:
        # parse_updates made it here: its columns were checked as `encode_value`
        # would check them again (ids, errors and times plain and finite, statuses
        # members), so only the results are encoded; the text is the same.
        text = _columns_text(job_id, trusted)
        return _command(command_id, "update_tasks", (job_id, trusted), at, text)
    # A batch parse_updates made is already valid: its columns are taken as they are.
    columns = batch_columns(updates)
    if columns is None:
        columns = to_update_columns(updates)
    return make_command(command_id, "update_tasks", (job_id, columns), at)


def _columns_text(job_id: str, columns: UpdateColumns) -> str:
    """``dumps(encode_value((job_id, columns)))`` of validated columns, column by column; O(n)."""
    task_ids, statuses, results, errors, ats = columns
    encoded_results = encode_value(results, "update_tasks", 2)
    texts = map(list_text, (task_ids, statuses, encoded_results, errors, ats))
    return f"[{dumps(job_id)},[{','.join(texts)}]]"


def _check_agent_and_id(agent_name: Any, reservation_id: Any) -> None:
    """Check the agent and the optional reservation id a reserve or a release names."""
    check_name(agent_name, "agent_name")
    if reservation_id is not None:
        check_name(reservation_id, "reservation_id")


def reserve_command(
    command_id: str,
    agent_name: str,
    agent_config: Mapping[str, Any] | None,
    reservation_id: str | None,
) -> Command:
    """Reserve one job's expected cost (`core.budget.reducers.reserve`).

    Raises:
        BudgetError: a bad name, config or id.
    """
    _check_agent_and_id(agent_name, reservation_id)
    config = None
    if agent_config is not None:
        block = {"name": agent_name, **check_mapping(agent_config, "agent_config")}
        agent = new_budget(None, [block]).agents[agent_name]
        config = (agent.expected_price, agent.limit)
    return make_command(command_id, "reserve", (agent_name, config, reservation_id))


def release_command(
    command_id: str, agent_name: str, amount: Any, reservation_id: str | None
) -> Command:
    """Give back part of a reservation; at most once per ``reservation_id`` when given.

    Raises:
        BudgetError: a bad name, amount or id.
    """
    _check_agent_and_id(agent_name, reservation_id)
    money: Decimal = to_money(amount, "amount")
    return make_command(command_id, "release", (agent_name, money, reservation_id))


def record_costs_command(command_id: str, records: Any) -> Command:
    """Record paid jobs, all or none, idempotently by job id.

    Raises:
        BudgetError: a malformed or self-conflicting record, naming its index.
    """
    # Recording into an empty budget checks the batch exactly as the store will.
    parsed = record_costs(new_budget(None, []), records).cost_records
    return make_command(command_id, "record_costs", (tuple(parsed),))


def close_job_command(command_id: str, job_id: str) -> Command:
    """Take a job out of memory; its final summary stays readable.

    Raises:
        BudgetError: a bad ``job_id``.
    """
    check_name(job_id, "job_id")
    return make_command(command_id, "close_job", (job_id,))
