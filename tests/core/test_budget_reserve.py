"""Tests for core.budget.reducers: reserve and release_reservation."""

from __future__ import annotations

from typing import Any

import pytest
from budget_helpers import (
    D,
    assert_error,
    make_state,
    rec,
    snapshot,
)

from core.budget.reducers import (
    AgentBudget,
    ReservationDecision,
    agent_remaining,
    new_budget,
    record_cost,
    release_reservation,
    reserve,
)
from core.errors import BudgetError

# ---------------------------------------------------------------- reserve


def test_reserve_grants_and_holds_the_expected_price() -> None:
    """A granted reservation adds the expected price to agent and total reserved."""
    state = make_state("10", a={"price": "1.5", "max_total_spend": "4"})
    decision, after = reserve(state, "a")
    assert decision == ReservationDecision(True, D("1.5"), decision.reason)
    assert "1.5" in decision.reason and "2.5 remaining" in decision.reason
    assert after.agents["a"].reserved == D("1.5")
    assert after.total_reserved == D("1.5")
    assert agent_remaining(after, "a") == D("2.5")
    assert state.total_reserved == 0  # the input is untouched


def test_reserve_refuses_over_agent_limit_and_says_by_how_much() -> None:
    """A job over the agent's remaining limit is refused, naming the limit and the shortfall."""
    state = make_state("100", a={"price": "3", "max_total_spend": "5"})
    _, state = reserve(state, "a")
    decision, after = reserve(state, "a")
    assert decision.can_afford is False
    assert decision.expected_cost == D(3)
    assert "agent 'a' limit" in decision.reason
    assert "has 2 left" in decision.reason and "by 1" in decision.reason
    assert after is state


def test_reserve_refuses_over_total_budget() -> None:
    """The total budget caps every agent, even an unlimited one."""
    state = make_state("2", a={"price": "1.5"})
    _, state = reserve(state, "a")
    decision, after = reserve(state, "a")
    assert not decision.can_afford
    assert "total budget" in decision.reason and "by 1.0" in decision.reason
    assert after is state


def test_reserve_refuses_when_nothing_remains_even_for_a_free_job() -> None:
    """Remaining <= 0 refuses, even when the expected cost is 0."""
    state = make_state("1", a={"price": "0"})
    state = record_cost(state, rec("j1", expected="0", actual="1"))
    decision, after = reserve(state, "a")
    assert not decision.can_afford
    assert decision.expected_cost == D("1")  # price learned from the 0 -> 1 surprise
    assert "exhausted" in decision.reason
    state = new_budget({"total_budget": 0}, [{"name": "z"}])
    decision, after = reserve(state, "z")
    assert not decision.can_afford and decision.expected_cost == 0
    assert "total budget is exhausted" in decision.reason
    assert after is state


def test_reserve_names_every_refusing_limit() -> None:
    """When both the agent limit and the total refuse, the reason names both."""
    state = make_state("1", a={"price": "2", "max_total_spend": "1.5"})
    decision, _ = reserve(state, "a")
    assert "agent 'a' limit has 1.5 left" in decision.reason
    assert "total budget has 1 left" in decision.reason


def test_reserve_overrun_reason_says_how_far_over() -> None:
    """After an overrun the refusal says by how much the budget is already over."""
    state = make_state("1", a={"price": "1"})
    state = record_cost(state, rec("j1", actual="1.25"))
    decision, _ = reserve(state, "a")
    assert "over by 0.25" in decision.reason


def test_reserve_adds_unknown_agent_with_config_price() -> None:
    """An agent missing from the state is added, unlimited, at the config's price."""
    state = make_state("10")
    decision, after = reserve(state, "new", {"price": "2"})
    assert decision.can_afford and decision.expected_cost == D(2)
    assert after.agents["new"] == AgentBudget("new", None, D(2), D(0), D(2), ())
    decision, after = reserve(state, "free")
    assert decision.expected_cost == 0
    assert after.agents["free"].reserved == 0


def test_reserve_honours_max_total_spend_of_a_new_agents_config() -> None:
    """A new agent's config may carry its own max_total_spend, which then binds."""
    state = make_state(None)
    decision, _ = reserve(state, "new", {"name": "new", "price": 3, "max_total_spend": 2})
    assert not decision.can_afford
    assert "agent 'new' limit has 2 left" in decision.reason


def test_refused_new_agent_is_not_added() -> None:
    """A refusal changes nothing, so a refused unknown agent is not added."""
    state = make_state("1")
    decision, after = reserve(state, "new", {"price": 5})
    assert not decision.can_afford
    assert after is state and "new" not in after.agents


def test_reserve_prefers_the_state_estimate_over_the_config() -> None:
    """A known agent's learned price wins over the price in its config."""
    state = make_state("10", a={"price": "1"})
    decision, _ = reserve(state, "a", {"name": "a", "price": "9"})
    assert decision.expected_cost == D(1)


def test_same_reservation_id_does_not_double_reserve() -> None:
    """A retried reservation id returns the first decision and leaves the state unchanged."""
    state = make_state("10", a={"price": "1"})
    first, state = reserve(state, "a", reservation_id="job-1")
    again, after = reserve(state, "a", reservation_id="job-1")
    assert again == first
    assert after is state
    assert state.total_reserved == D(1)


def test_reservation_id_is_remembered_after_settlement() -> None:
    """After the cost is recorded, a late retry still does not reserve again."""
    state = make_state("10", a={"price": "1"})
    _, state = reserve(state, "a", reservation_id="job-1")
    state = record_cost(state, rec("job-1"))
    decision, after = reserve(state, "a", reservation_id="job-1")
    assert decision.can_afford
    assert after is state and after.total_reserved == 0


def test_refusals_are_not_remembered() -> None:
    """A refused reservation id can be granted later, once money is released."""
    state = make_state("1", a={"price": "1"})
    _, state = reserve(state, "a", reservation_id="r1")
    refused, after = reserve(state, "a", reservation_id="r2")
    assert not refused.can_afford
    assert after is state and "r2" not in after.reservations
    state = release_reservation(state, "a", 1)
    granted, state = reserve(state, "a", reservation_id="r2")
    assert granted.can_afford and state.total_reserved == 1


def test_reservation_id_for_another_agent_is_an_error() -> None:
    """Reusing a reservation id for a different agent raises BudgetError and changes nothing."""
    state = make_state("10", a={"price": "1"}, b={"price": "1"})
    _, state = reserve(state, "a", reservation_id="r1")
    before = snapshot(state)
    with pytest.raises(BudgetError) as info:
        reserve(state, "b", reservation_id="r1")
    assert_error(info.value, "reservation_id", "r1")
    assert snapshot(state) == before


@pytest.mark.parametrize(
    ("args", "field", "value"),
    [
        (("",), "agent_name", ""),
        ((None,), "agent_name", None),
        (("a", {"price": "-1"}), "price", "-1"),
        (("a", {"prize": 1}), "prize", 1),
        (("a", ["price"]), "agent_config", ["price"]),
        (("a", {"name": "b"}), "name", "b"),
        (("a", None, 7), "reservation_id", 7),
        (("a", None, ""), "reservation_id", ""),
    ],
)
def test_reserve_rejects_bad_input(args: tuple[Any, ...], field: str, value: Any) -> None:
    """Bad names, configs and reservation ids raise BudgetError naming field and value."""
    state = make_state("10", a={"price": "1"})
    before = snapshot(state)
    with pytest.raises(BudgetError) as info:
        reserve(state, *args)
    assert_error(info.value, field, value)
    assert snapshot(state) == before


# ---------------------------------------------------------------- release


def test_release_reservation_returns_money() -> None:
    """Releasing lowers agent and total reserved by the amount."""
    state = make_state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    after = release_reservation(state, "a", "0.5")
    assert after.agents["a"].reserved == D("1.5")
    assert after.total_reserved == D("1.5")


def test_release_never_goes_below_zero() -> None:
    """Releasing more than is reserved releases only what is reserved."""
    state = make_state("10", a={"price": "2"}, b={"price": "3"})
    _, state = reserve(state, "a")
    _, state = reserve(state, "b")
    after = release_reservation(state, "a", 100)
    assert after.agents["a"].reserved == 0
    assert after.total_reserved == D(3)
    assert release_reservation(after, "a", 1) is after


def test_release_of_zero_returns_the_same_state() -> None:
    """Releasing 0 changes nothing and returns the same object."""
    state = make_state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    assert release_reservation(state, "a", 0) is state


@pytest.mark.parametrize(
    ("agent", "amount", "field", "value"),
    [("ghost", 1, "agent_name", "ghost"), ("a", "-1", "amount", "-1"), ("a", None, "amount", None)],
)
def test_release_rejects_bad_input(agent: str, amount: Any, field: str, value: Any) -> None:
    """An unknown agent or a bad amount raises BudgetError and changes nothing."""
    state = make_state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    before = snapshot(state)
    with pytest.raises(BudgetError) as info:
        release_reservation(state, agent, amount)
    assert_error(info.value, field, value)
    assert snapshot(state) == before
