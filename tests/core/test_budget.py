"""Tests for core.budget.reducers: construction, remaining and pickling."""

from __future__ import annotations

from typing import Any

import pytest
from budget_helpers import (
    BATCH,
    D,
    assert_error,
    make_state,
    rec,
    reserved_state,
)

from core.budget.reducers import (
    AgentBudget,
    PricePolicy,
    agent_remaining,
    new_budget,
    new_price_policy,
    record_cost,
    record_costs,
    reserve,
    total_remaining,
)
from core.errors import BudgetError

# ---------------------------------------------------------------- new_budget


def test_new_budget_builds_agents_and_totals() -> None:
    """new_budget parses totals and agents into exact, zeroed state."""
    state = new_budget(
        {"total_budget": "100"},
        [{"name": "a", "price": 0.1, "max_total_spend": 5}, {"name": "b"}],
    )
    assert state.total_budget == D(100)
    assert state.total_spent == 0 and state.total_reserved == 0
    assert state.agents["a"] == AgentBudget("a", D(5), D("0.1"), D(0), D(0), ())
    assert state.agents["b"].limit is None
    assert state.agents["b"].expected_price == 0
    assert len(state.cost_records) == 0
    assert state.policy == PricePolicy(D("0.10"), 5)


@pytest.mark.parametrize("budget_config", [{}, {"total_budget": None}, None])
def test_missing_total_budget_is_unlimited(budget_config: Any) -> None:
    """A missing or None total budget means unlimited."""
    state = new_budget(budget_config, [])
    assert state.total_budget is None
    assert total_remaining(state) is None


def test_new_budget_accepts_a_generator_of_agents() -> None:
    """agents_config may be any iterable of mappings, such as a generator."""
    state = new_budget({}, ({"name": n} for n in ("x", "y")))
    assert set(state.agents) == {"x", "y"}


@pytest.mark.parametrize(
    ("budget_config", "agents_config", "field", "value"),
    [
        ({"total_budget": "lots"}, [], "total_budget", "lots"),
        ({"total_budget": -1}, [], "total_budget", -1),
        ({"total": 5}, [], "total", 5),
        ({}, [{"name": "a", "price": "x"}], "price", "x"),
        ({}, [{"name": "a", "price": True}], "price", True),
        ({}, [{"name": "a", "max_total_spend": float("inf")}], "max_total_spend", float("inf")),
        ({}, [{"name": "a", "cost": 1}], "cost", 1),
        ({}, [{"name": ""}], "name", ""),
        ({}, [{"name": 3}], "name", 3),
        ({}, [{"name": "a"}, {"name": "a"}], "name", "a"),
        ({}, ["a"], "agents_config[0]", "a"),
        ({}, {"name": "a"}, "agents_config", {"name": "a"}),
        ({}, "a", "agents_config", "a"),
        ([("total_budget", 1)], [], "budget_config", [("total_budget", 1)]),
    ],
)
def test_new_budget_rejects_bad_config(
    budget_config: Any, agents_config: Any, field: str, value: Any
) -> None:
    """Unknown keys, bad amounts, bad names and duplicates raise BudgetError naming them."""
    with pytest.raises(BudgetError) as info:
        new_budget(budget_config, agents_config)
    err = info.value
    assert err.field == field
    assert field in str(err)
    if value == value:  # NaN-free values: also check the attribute
        assert err.value == value
    assert repr(value) in str(err)


def test_new_budget_reports_missing_agent_name() -> None:
    """An agent config without a name is rejected, naming the missing key."""
    with pytest.raises(BudgetError, match="missing required key 'name'") as info:
        new_budget({}, [{"price": 1}])
    assert info.value.field == "name"


def test_custom_policy_and_validation() -> None:
    """A custom policy is kept; a bad policy or policy value raises BudgetError."""
    policy = new_price_policy("0.5", 2)
    assert new_budget({}, [], policy).policy == PricePolicy(D("0.5"), 2)
    with pytest.raises(BudgetError) as info:
        new_budget({}, [], {"window": 2})  # type: ignore[arg-type]
    assert_error(info.value, "policy", {"window": 2})
    with pytest.raises(BudgetError) as info:
        new_price_policy(window=0)
    assert_error(info.value, "window", 0)
    with pytest.raises(BudgetError) as info:
        new_budget({}, [], PricePolicy(D("0.1"), True))
    assert_error(info.value, "window", True)
    with pytest.raises(BudgetError) as info:
        new_price_policy(drift_threshold="-0.1")
    assert_error(info.value, "drift_threshold", "-0.1")


# ---------------------------------------------------------------- remaining


def test_agent_remaining_is_the_lower_of_limit_and_total() -> None:
    """Remaining is min(agent limit left, total left); unlimited stays unlimited."""
    state = make_state("10", capped={"max_total_spend": "3"}, open={})
    assert agent_remaining(state, "capped") == D(3)
    assert agent_remaining(state, "open") == D(10)
    state = record_cost(state, rec("j1", agent="open", expected="8", actual="8"))
    assert agent_remaining(state, "capped") == D(2)
    unlimited = make_state(None, capped={"max_total_spend": "3"}, open={})
    assert agent_remaining(unlimited, "capped") == D(3)
    assert agent_remaining(unlimited, "open") is None
    assert total_remaining(unlimited) is None


def test_agent_remaining_rejects_unknown_agent() -> None:
    """agent_remaining of an agent not in the state raises BudgetError naming it."""
    with pytest.raises(BudgetError) as info:
        agent_remaining(make_state("10"), "ghost")
    assert_error(info.value, "agent_name", "ghost")


def test_state_pickles_round_trip() -> None:
    """A budget state survives pickling unchanged, as it must to cross Ray processes."""
    import pickle

    state = record_costs(reserved_state(), BATCH)
    _, state = reserve(state, "a", reservation_id="r1")
    assert pickle.loads(pickle.dumps(state)) == state


def test_budget_re_exports_the_budget_types() -> None:
    """Every value type and factory of core.budget.types is still importable from core.budget."""
    from core import budget
    from core.budget import types as budget_types

    validators = {"budget_error"} | {n for n in budget_types.__all__ if n.startswith("check_")}
    assert validators < set(budget_types.__all__)
    for name in sorted(set(budget_types.__all__) - validators):
        assert name in budget.__all__
        assert getattr(budget, name) is getattr(budget_types, name)
