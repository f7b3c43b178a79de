"""The properties can fail: Hypothesis must catch three deliberately broken reducers.

Each mutant is run through the very property body the real reducer passes
(`check_batch_matches_sequential`, `check_record_idempotent`), with fixed,
derandomized settings; Hypothesis must find a counterexample. The real
reducers run through the same bodies and settings as a control, so a
"found" can only come from the mutation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from core import JobExecution, apply_task_update, apply_task_updates
from core.budget.reducers import BudgetState, record_cost, record_costs
from properties.core.test_budget_properties import check_record_idempotent
from properties.strategies import (
    budget_states,
    check_batch_matches_sequential,
    cost_record_lists,
    cost_records,
    jobs_and_updates,
    redeliveries,
)

#: Fixed for this file (not the profile's): the search must be the same in every profile.
HUNT = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    print_blob=False,
)


def drops_last_update(job: JobExecution, updates: Any) -> JobExecution:
    """Mutant batch: forgets the last update."""
    return apply_task_updates(job, list(updates)[:-1])


def applies_in_reverse(job: JobExecution, updates: Any) -> JobExecution:
    """Mutant batch: applies the updates last to first."""
    return apply_task_updates(job, list(updates)[::-1])


def counts_repeats_twice(state: BudgetState, record: Any) -> BudgetState:
    """Mutant single record: a redelivered identical record is spent again."""
    after = record_cost(state, record)
    earlier = state.records_by_job.get(record.get("job_id")) if isinstance(record, dict) else None
    if after is state and earlier is not None:
        return state._replace(total_spent=state.total_spent + earlier.actual)
    return after


def _task_batch_hunt(batch: Callable[[JobExecution, Any], JobExecution]) -> Callable[[], None]:
    @HUNT
    @given(jobs_and_updates())
    def hunt(case: tuple[JobExecution, list[Any]]) -> None:
        check_batch_matches_sequential(case[0], case[1], batch, apply_task_update)

    return hunt


def _cost_batch_hunt(single: Callable[[BudgetState, Any], BudgetState]) -> Callable[[], None]:
    @HUNT
    @given(budget_states(), cost_record_lists())
    def hunt(state: BudgetState, records: list[Any]) -> None:
        check_batch_matches_sequential(state, records, record_costs, single)

    return hunt


def _idempotence_hunt(single: Callable[[BudgetState, Any], BudgetState]) -> Callable[[], None]:
    @HUNT
    @given(budget_states(), cost_records(job_id=st.just("job-new")), st.data())
    def hunt(state: BudgetState, record: dict[str, Any], data: st.DataObject) -> None:
        check_record_idempotent(state, record, data.draw(redeliveries(record)), single)

    return hunt


MUTANT_HUNTS = {
    "batch drops its last update": lambda: _task_batch_hunt(drops_last_update),
    "batch applied in reverse order": lambda: _task_batch_hunt(applies_in_reverse),
    "repeated cost record counted twice (batch)": lambda: _cost_batch_hunt(counts_repeats_twice),
    "repeated cost record counted twice (idempotence)": lambda: _idempotence_hunt(
        counts_repeats_twice
    ),
}

CONTROLS = {
    "task batch": lambda: _task_batch_hunt(apply_task_updates),
    "cost batch": lambda: _cost_batch_hunt(record_cost),
    "cost idempotence": lambda: _idempotence_hunt(record_cost),
}


@pytest.mark.parametrize("mutant", sorted(MUTANT_HUNTS))
def test_properties_catch_mutant(mutant: str) -> None:
    """Hypothesis finds a counterexample to the property when the reducer is broken."""
    with pytest.raises(AssertionError):
        MUTANT_HUNTS[mutant]()()


@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_same_hunt_passes_on_real_reducers(control: str) -> None:
    """The same search over the real reducers finds nothing, so each catch is the mutant's."""
    CONTROLS[control]()()
