"""A store's whole state as one value, and the one function that applies a command to it.

`apply_command` is what the store's actor runs for every change, what a
journal's replay folds over, and what the tests drive: one function, so the
live store and a recovered one cannot disagree. It is idempotent by command
id: an id it remembers returns its recorded reply and changes nothing; the
same id with other arguments raises `CommandConflictError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from pyrsistent import pmap
from pyrsistent.typing import PMap

from core.batch_args import check_state, item_list
from core.budget.reducers import (
    BudgetState,
    new_budget,
    record_costs,
    release_reservation,
    reserve,
)
from core.errors import (
    BudgetError,
    CommandConflictError,
    DuplicateJobError,
    InvalidStateError,
    UnknownJobError,
)
from core.frozen import freeze, thaw
from core.jobs._columns import stamped_columns
from core.jobs.job import JobExecution, add_tasks, new_job
from core.jobs.reducers import apply_task_updates
from core.jobs.summary import summarize_job
from core.ledger._lazy import LazyMap
from core.ledger._window import ReplyWindow
from core.ledger.commands import Command

__all__ = [
    "DEFAULT_REMEMBER",
    "LedgerState",
    "Remembered",
    "apply_command",
    "job_state",
    "job_summary",
    "job_version",
    "open_ledger",
    "poll_job",
    "replay",
]

#: How many of the last applied command ids a store remembers, with their replies.
DEFAULT_REMEMBER = 10_000


class Remembered(NamedTuple):
    """An applied command's fingerprint and reply, kept so a resend is answered, not reapplied."""

    digest: str
    reply: Any


class LedgerState(NamedTuple):
    """Everything a store holds; make one with `open_ledger`.

    Attributes:
        jobs: Open jobs by id.
        versions: Every job's version (open or closed): 1 at creation, +1 per change.
        closed: Final summaries of closed jobs, frozen.

    ``versions`` and ``closed`` grow with the journal: they are lazy maps
    (`core.ledger._lazy.LazyMap`), so a state read from a snapshot decodes one
    of their entries only when it is read.

        budget: The budget.
        budget_version: 1 at creation, +1 per change of the budget.
        released: Reservation ids already released (each gives back at most once).
        replies: The last `remember` applied command ids with their fingerprints
            and replies, oldest first (`core.ledger._window.ReplyWindow`; its
            rows read from a snapshot are decoded when recalled).
        applied: Commands applied so far, the store's creation included: the
            sequence number of the last one.
    """

    jobs: PMap[str, JobExecution]
    versions: LazyMap[int]
    closed: LazyMap[Any]
    budget: BudgetState
    budget_version: int
    released: PMap[str, Decimal]
    replies: ReplyWindow[Remembered]
    applied: int

    @property
    def remember(self) -> int:
        """How many of the last applied command ids the store remembers. O(1)."""
        return self.replies.capacity


def open_ledger(command: Command, remember: int = DEFAULT_REMEMBER) -> LedgerState:
    """Return the state a ``create_store`` command starts.

    Raises:
        CommandConflictError: ``command`` is not a ``create_store``.
        BudgetError: its config is invalid.
        InvalidStateError: ``command`` is not a `Command`, or ``remember`` not a positive int.
    """
    check_state(command, Command, "command")
    if command.kind != "create_store":
        raise CommandConflictError(
            f"a store starts with a create_store command, got {command.kind!r}",
            field="kind",
            value=command.kind,
        )
    total, agents = command.args
    budget = new_budget(
        {"total_budget": total},
        [{"name": n, "price": p, "max_total_spend": limit} for n, p, limit in agents],
    )
    window = ReplyWindow[Remembered](remember)  # raises InvalidStateError for a bad one
    first = window.add(command.command_id, Remembered(command.digest, None))
    return LedgerState(pmap(), LazyMap(), LazyMap(), budget, 1, pmap(), first, 1)


def _remember(state: LedgerState, command: Command, reply: Any) -> LedgerState:
    return state._replace(
        replies=state.replies.add(command.command_id, Remembered(command.digest, reply)),
        applied=state.applied + 1,
    )


def apply_command(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    """Apply one command; return the new state and the command's reply.

    A command id already applied returns its first reply and the same state.

    Raises:
        CommandConflictError: the id was applied with other arguments.
        StateError: the command is refused (unknown job, bad transition, ...);
            ``state`` is unchanged and nothing is remembered.
        InvalidStateError: ``state`` is not a `LedgerState` or ``command`` not a `Command`.
    """
    check_state(state, LedgerState, "state")
    check_state(command, Command, "command")
    earlier: Remembered | None = state.replies.get(command.command_id)
    if earlier is not None:
        if earlier.digest != command.digest:
            raise CommandConflictError(
                f"command_id {command.command_id!r} was already applied with other arguments "
                f"(this is a {command.kind!r} command)",
                field="command_id",
                value=command.command_id,
            )
        return state, earlier.reply
    apply = _APPLY.get(command.kind)
    if apply is None:
        raise CommandConflictError(
            f"a {command.kind!r} command cannot be applied to a running store",
            field="kind",
            value=command.kind,
        )
    new_state, reply = apply(state, command)
    return _remember(new_state, command, reply), reply


def replay(commands: Iterable[Command], state: LedgerState | None = None) -> LedgerState:
    """Fold commands into a state; with no ``state`` the first command must create the store.

    Raises:
        StateError: a command is refused (a journal holds only applied commands,
            so this means it was not written by this store).
        InvalidStateError: ``commands`` is not an iterable of commands, or
            ``state`` is neither None nor a `LedgerState`.
    """
    if state is not None:
        check_state(state, LedgerState, "state")
    for command in item_list(commands, "commands", InvalidStateError, "commands", lone=(Command,)):
        state = open_ledger(command) if state is None else apply_command(state, command)[0]
    if state is None:
        raise CommandConflictError("an empty journal holds no store", field="commands", value=())
    return state


def _open_job(state: LedgerState, job_id: str) -> JobExecution:
    job = state.jobs.get(job_id)
    if job is None:
        closed = " (it was closed: its summary stays readable)" if job_id in state.closed else ""
        raise UnknownJobError(
            f"the store holds no job with job_id {job_id!r}{closed}", field="job_id", value=job_id
        )
    return job


def _with_job(state: LedgerState, old: JobExecution, new: JobExecution) -> tuple[LedgerState, int]:
    version = state.versions[old.job_id]
    if new is old:
        return state, version
    return state._replace(
        jobs=state.jobs.set(old.job_id, new), versions=state.versions.set(old.job_id, version + 1)
    ), version + 1


def _with_budget(state: LedgerState, budget: BudgetState) -> LedgerState:
    if budget is state.budget:
        return state
    return state._replace(budget=budget, budget_version=state.budget_version + 1)


def _create_job(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    job_id, description = command.args
    if job_id in state.versions:
        raise DuplicateJobError(
            f"the store already holds a job with job_id {job_id!r}", field="job_id", value=job_id
        )
    job = new_job(job_id, description, command.at)
    return state._replace(
        jobs=state.jobs.set(job_id, job), versions=state.versions.set(job_id, 1)
    ), job_id


def _add_tasks(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    job_id, records = command.args
    job = _open_job(state, job_id)
    return _with_job(state, job, add_tasks(job, records))


def _update_tasks(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    job_id, columns = command.args
    job = _open_job(state, job_id)
    if command.at is not None and None in columns.ats:
        columns = stamped_columns(columns, command.at)
    # apply_task_updates checks the columns again: a command may be built by hand.
    return _with_job(state, job, apply_task_updates(job, columns))


def _reserve(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    agent_name, config, reservation_id = command.args
    block = None
    if config is not None:
        block = {"price": config[0], "max_total_spend": config[1]}
    decision, budget = reserve(state.budget, agent_name, block, reservation_id)
    return _with_budget(state, budget), decision


def _release(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    agent_name, amount, reservation_id = command.args
    if reservation_id is None:
        return _with_budget(state, release_reservation(state.budget, agent_name, amount)), None
    granted = state.budget.reservations.get(reservation_id)
    if granted is None or granted.agent_name != agent_name:
        raise BudgetError(
            f"no reservation {reservation_id!r} was granted to agent {agent_name!r}",
            field="reservation_id",
            value=reservation_id,
        )
    if reservation_id in state.released:
        return state, None
    amount = min(amount, granted.decision.expected_cost)
    budget = release_reservation(state.budget, agent_name, amount)
    state = _with_budget(state, budget)
    return state._replace(released=state.released.set(reservation_id, amount)), None


def _record_costs(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    (records,) = command.args
    budget = record_costs(state.budget, [record._asdict() for record in records])
    return _with_budget(state, budget), None


def _close_job(state: LedgerState, command: Command) -> tuple[LedgerState, Any]:
    (job_id,) = command.args
    job = _open_job(state, job_id)
    return state._replace(
        jobs=state.jobs.remove(job_id),
        closed=state.closed.set(job_id, freeze(summarize_job(job))),
    ), None


_APPLY: dict[str, Callable[[LedgerState, Command], tuple[LedgerState, Any]]] = {
    "create_job": _create_job,
    "add_tasks": _add_tasks,
    "update_tasks": _update_tasks,
    "reserve": _reserve,
    "release": _release,
    "record_costs": _record_costs,
    "close_job": _close_job,
}


def job_state(state: LedgerState, job_id: str) -> JobExecution:
    """Return an open job.

    Raises:
        UnknownJobError: no such open job.
    """
    return _open_job(state, job_id)


def job_version(state: LedgerState, job_id: str) -> int:
    """Return a job's version (closed jobs keep their last).

    Raises:
        UnknownJobError: no such job.
    """
    version = state.versions.get(job_id)
    if version is None:
        _open_job(state, job_id)
    return state.versions[job_id]


def job_versions(state: LedgerState) -> dict[str, int]:
    """Return every job's version (open and closed), sorted by job id. O(jobs log jobs)."""
    return dict(sorted(state.versions.items()))


def job_summary(state: LedgerState, job_id: str) -> dict[str, Any]:
    """Return `core.jobs.summary.summarize_job` of a job, or a closed job's final summary.

    Raises:
        UnknownJobError: no such job.
    """
    summary = state.closed.get(job_id)
    if summary is not None:
        thawed: dict[str, Any] = thaw(summary)
        return thawed
    return summarize_job(_open_job(state, job_id))


def poll_job(
    state: LedgerState, job_id: str, since_version: int | None
) -> tuple[int, dict[str, Any] | None]:
    """Return ``(version, summary)``, ``summary`` None when ``version == since_version``.

    Raises:
        UnknownJobError: no such job.
    """
    version = job_version(state, job_id)
    if version == since_version:
        return version, None
    return version, job_summary(state, job_id)
