"""The wire form of an update batch: its journal entry, applied exactly as the command it is."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.errors import StateError
from core.jobs.job import JobExecution
from core.jobs.update_batch import parse_updates
from core.ledger import (
    LedgerState,
    apply_command,
    command_from_wire,
    command_to_wire,
    create_job_command,
    create_store_command,
    open_ledger,
    update_tasks_command,
)
from core.ledger.state import _with_job
from properties.strategies import jobs_and_updates


def _ledger_with(job: JobExecution) -> LedgerState:
    """A store holding ``job`` under its own id."""
    state = open_ledger(create_store_command("c0", None, [{"name": "a", "price": 1}]))
    state, _ = apply_command(state, create_job_command("c1", job.job_id, "d", 0.0))
    return _with_job(state, state.jobs[job.job_id], job)[0]


def _outcome(state: LedgerState, command: Any) -> Any:
    """The new state and reply, or the type, field and index of the error."""
    try:
        return apply_command(state, command)
    except StateError as err:
        return type(err), err.field, err.index


@given(jobs_and_updates(), st.sampled_from([None, 5.0]))
def test_wire_command_applies_as_the_command(case: tuple[JobExecution, list[Any]], at: Any) -> None:
    """A batch sent in its wire form changes a store exactly as the command itself does."""
    job, updates = case
    try:
        batch = parse_updates(updates)
    except StateError:
        return  # the caller's parse refuses it: nothing is sent
    command = update_tasks_command("u1", job.job_id, batch, at)
    wire = command_to_wire(command)
    state = _ledger_with(job)
    assert _outcome(state, command_from_wire(wire)) == _outcome(state, command)
    rebuilt = command_from_wire(wire)
    assert rebuilt[:2] == command[:2] and rebuilt[3:] == command[3:]
    assert type(wire) is str and wire == command.body
