"""Round trips: every state crosses a Ray process boundary as a pickle, and must come back equal.

`JobExecution` pickles column by column through a custom ``__reduce__``, so
equality after the round trip is not a given; the rebuilt job must also keep
working (same counts, same answers to the next update).
"""

from __future__ import annotations

import contextlib
import pickle
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core import (
    JobExecution,
    StateError,
    apply_task_update,
    apply_task_updates,
    summarize_job,
    tasks_in_order,
)
from core.batching import add_cost_record, add_task_update, empty_batch
from core.budget.reducers import BudgetState, record_costs, reserve
from core.budget.summary import summarize_budget
from properties.strategies import (
    ALL_AGENT_NAMES,
    budget_states,
    cost_record_lists,
    jobs,
    jobs_and_updates,
)

_PROTOCOLS = st.integers(2, pickle.HIGHEST_PROTOCOL)


def _outcome(fn: Any, *args: Any) -> Any:
    """The result of ``fn(*args)``, or the `StateError` it raises."""
    try:
        return fn(*args)
    except StateError as err:
        return err


def _same(a: Any, b: Any) -> bool:
    """Equal results, or errors of the same type with the same field, index and message."""
    if isinstance(a, StateError) or isinstance(b, StateError):
        return type(a) is type(b) and (a.field, a.index, str(a)) == (b.field, b.index, str(b))
    return bool(a == b)


@given(jobs(), _PROTOCOLS)
def test_job_state_round_trips(job: JobExecution, protocol: int) -> None:
    """pickle.loads(pickle.dumps(job)) == job, with its order, counts and summary intact."""
    back = pickle.loads(pickle.dumps(job, protocol=protocol))
    assert back == job
    assert type(back) is JobExecution
    assert tasks_in_order(back) == tasks_in_order(job)
    assert summarize_job(back) == summarize_job(job)


@given(jobs_and_updates())
def test_unpickled_job_answers_updates_the_same(case: tuple[JobExecution, list[Any]]) -> None:
    """An unpickled job gives the same result or error as the original for every next update."""
    job, updates = case
    back = pickle.loads(pickle.dumps(job))
    for update in updates:
        mine, theirs = (
            _outcome(apply_task_update, back, update),
            _outcome(apply_task_update, job, update),
        )
        assert _same(mine, theirs)


@given(budget_states(), _PROTOCOLS)
def test_budget_state_round_trips(state: BudgetState, protocol: int) -> None:
    """pickle.loads(pickle.dumps(budget)) == budget, and its summary is unchanged."""
    back = pickle.loads(pickle.dumps(state, protocol=protocol))
    assert back == state
    assert summarize_budget(back) == summarize_budget(state)


@given(budget_states(), cost_record_lists(), st.sampled_from(ALL_AGENT_NAMES))
def test_unpickled_budget_answers_the_same(
    state: BudgetState, records: list[Any], agent: str
) -> None:
    """An unpickled budget records, refuses and reserves exactly as the original does."""
    back = pickle.loads(pickle.dumps(state))
    assert _same(_outcome(record_costs, back, records), _outcome(record_costs, state, records))
    assert _same(_outcome(reserve, back, agent), _outcome(reserve, state, agent))


@given(jobs_and_updates(), cost_record_lists())
def test_pending_batch_round_trips(
    case: tuple[JobExecution, list[Any]], records: list[Any]
) -> None:
    """A pending batch (what a batcher would ship) survives a pickle round trip unchanged."""
    batch = empty_batch()
    fields = ("task_id", "status", "result", "error", "at")
    for update in case[1]:
        if isinstance(update, dict):
            with contextlib.suppress(StateError):
                batch = add_task_update(batch, *(update.get(f) for f in fields))
    for record in records:
        with contextlib.suppress(StateError):
            batch = add_cost_record(batch, record)
    assert pickle.loads(pickle.dumps(batch)) == batch


@given(jobs_and_updates(), budget_states(), cost_record_lists())
def test_errors_round_trip_with_their_fields(
    case: tuple[JobExecution, list[Any]], state: BudgetState, records: list[Any]
) -> None:
    """A reducer's error comes back from pickle as the same type with field, index and message."""
    job, updates = case
    errors = [_outcome(apply_task_update, job, update) for update in updates]
    errors += [_outcome(apply_task_updates, job, updates), _outcome(record_costs, state, records)]
    for err in errors:
        if not isinstance(err, StateError):
            continue
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err)
        assert (back.field, back.index, str(back)) == (err.field, err.index, str(err))
