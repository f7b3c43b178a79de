"""Properties of the budget core: batches, idempotence, exact sums and the limits of a grant.

`check_record_idempotent` is a property body parametrised by the reducer so
`properties.test_mutants` can run it against a reducer that double-counts.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from core.budget.reducers import (
    BudgetError,
    BudgetState,
    new_budget,
    record_cost,
    record_costs,
    release_reservation,
    reserve,
)
from core.budget.summary import RECENT_COSTS, summarize_budget
from properties.strategies import (
    ALL_AGENT_NAMES,
    agent_configs,
    amounts,
    as_fraction,
    budget_configs,
    budget_states,
    check_batch_matches_sequential,
    cost_record_lists,
    cost_records,
    redeliveries,
    reservation_ids,
)

agent_names = st.sampled_from(ALL_AGENT_NAMES)


@given(budget_states(), cost_record_lists())
def test_cost_batch_equals_sequential(state: BudgetState, records: list[Any]) -> None:
    """A batch of cost records (duplicates, conflicts, bad ones) equals recording one at a time."""
    check_batch_matches_sequential(state, records, record_costs, record_cost)


def check_record_idempotent(
    state: BudgetState,
    record: dict[str, Any],
    again: dict[str, Any],
    single: Callable[[BudgetState, Any], BudgetState],
) -> None:
    """Assert a record counts exactly once, however often the same charge is delivered."""
    once = single(state, record)
    assert Fraction(once.total_spent - state.total_spent) == as_fraction(record["actual"])
    assert single(once, again) == once
    assert single(single(once, again), record) == once


@given(budget_states(), cost_records(job_id=st.just("job-new")), st.data())
def test_cost_record_delivered_twice_counts_once(
    state: BudgetState, record: dict[str, Any], data: st.DataObject
) -> None:
    """A cost record delivered again (respelt amounts, a new time) changes nothing."""
    check_record_idempotent(state, record, data.draw(redeliveries(record)), record_cost)


@given(budget_states(), agent_names, agent_configs(), reservation_ids)
def test_reservation_retry_reserves_once(
    state: BudgetState, agent: str, config: Any, reservation_id: str
) -> None:
    """Retrying a reservation with the same id returns the first decision and reserves nothing."""
    earlier = state.reservations.get(reservation_id)
    try:
        decision, first = reserve(state, agent, config, reservation_id)
    except BudgetError:
        assert earlier is not None and earlier.agent_name != agent
        event("reservation id used for another agent")
        return
    event("retry of a remembered id" if earlier else f"first call, granted={decision.can_afford}")
    for _ in range(2):
        assert reserve(first, agent, config, reservation_id) == (decision, first)
    reserved_now = Fraction(first.total_reserved - state.total_reserved)
    fresh_grant = earlier is None and decision.can_afford
    assert reserved_now == (Fraction(decision.expected_cost) if fresh_grant else 0)


def _own_remaining(state: BudgetState, agent: str) -> Fraction | None:
    known = state.agents.get(agent)
    if known is None or known.limit is None:
        return None
    return Fraction(known.limit) - Fraction(known.spent) - Fraction(known.reserved)


def _total_remaining(state: BudgetState) -> Fraction | None:
    if state.total_budget is None:
        return None
    return (
        Fraction(state.total_budget) - Fraction(state.total_spent) - Fraction(state.total_reserved)
    )


@given(budget_states(), agent_names, agent_configs())
def test_grant_never_exceeds_a_limit_and_refusal_is_justified(
    state: BudgetState, agent: str, config: Any
) -> None:
    """A grant keeps spent + reserved within total and agent limits; a refusal has a reason."""
    decision, after = reserve(state, agent, config)
    cost = Fraction(decision.expected_cost)
    limits = (_own_remaining(state, agent), _total_remaining(state))
    remaining = [r for r in limits if r is not None]
    event(f"granted={decision.can_afford}")
    if decision.can_afford:
        chosen = after.agents[agent]
        if chosen.limit is not None:
            assert chosen.spent + chosen.reserved <= chosen.limit
        if after.total_budget is not None:
            assert after.total_spent + after.total_reserved <= after.total_budget
        assert Fraction(after.total_reserved - state.total_reserved) == cost
        assert all(r > 0 and r >= cost for r in remaining)
    else:
        assert after == state
        assert any(r <= 0 or r < cost for r in remaining), decision.reason


@given(budget_states(), st.data())
def test_release_never_goes_negative(state: BudgetState, data: st.DataObject) -> None:
    """Releasing gives back min(amount, reserved): reservations never drop below zero."""
    agent = data.draw(st.sampled_from(sorted(state.agents)))
    amount = data.draw(amounts(max_cents=8_000))
    after = release_reservation(state, agent, amount)
    before_reserved = Fraction(state.agents[agent].reserved)
    released = min(as_fraction(amount), before_reserved)
    assert Fraction(after.agents[agent].reserved) == before_reserved - released >= 0
    assert Fraction(state.total_reserved - after.total_reserved) == released
    assert after.total_spent == state.total_spent


@given(
    budget_configs(),
    st.lists(
        cost_records(job_id=st.text("abc-012", min_size=1, max_size=4)),
        unique_by=lambda r: r["job_id"],
    ),
)
def test_recorded_sums_are_exact(config: Any, records: list[dict[str, Any]]) -> None:
    """Total and per-agent spend equal the exact sum of the actual amounts, in any spelling."""
    state = record_costs(new_budget(*config), records)
    assert Fraction(state.total_spent) == sum(as_fraction(r["actual"]) for r in records)
    for name, agent in state.agents.items():
        mine = [as_fraction(r["actual"]) for r in records if r["agent_name"] == name]
        assert Fraction(agent.spent) == sum(mine)


@given(st.integers(1, 40), st.sampled_from((0.1, 0.2, 0.3, 1.1, 0.07)))
def test_repeated_float_costs_do_not_drift(count: int, amount: float) -> None:
    """Recording a float cost n times spends exactly n times its decimal value (0.1 x 10 == 1)."""
    records = [
        {"agent_name": "alpha", "job_id": f"j{i}", "expected": amount, "actual": amount}
        for i in range(count)
    ]
    state = record_costs(new_budget({"total_budget": 1000}, [{"name": "alpha"}]), records)
    assert Fraction(state.total_spent) == count * Fraction(repr(amount))


@given(budget_states())
def test_summary_equals_recomputation_from_state(state: BudgetState) -> None:
    """summarize_budget's totals, remainders and recent costs equal a recomputation from state."""
    summary = summarize_budget(state)
    total_left = _total_remaining(state)
    assert summary["total_remaining"] == total_left
    assert summary["total_spent"] == sum(Fraction(r.actual) for r in state.cost_records)
    assert summary["total_reserved"] == sum(Fraction(a.reserved) for a in state.agents.values())
    assert list(summary["agents"]) == sorted(state.agents)
    for name, row in summary["agents"].items():
        agent = state.agents[name]
        candidates = [r for r in (_own_remaining(state, name), total_left) if r is not None]
        assert row["remaining"] == (min(candidates) if candidates else None)
        assert (row["spent"], row["reserved"]) == (agent.spent, agent.reserved)
        assert (row["limit"], row["expected_price"]) == (agent.limit, agent.expected_price)
    recent = [r._asdict() for r in state.cost_records][-RECENT_COSTS:]
    assert summary["recent_costs"] == recent
    assert (summary["cost_accuracy"] is None) == (not state.cost_records)
