"""Tests for core.budget.calculator.BudgetCalculator: projections, accuracy, advice, capacity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.budget.calculator import BudgetCalculator
from core.budget.reducers import BudgetState, new_budget, record_cost, record_costs, reserve
from core.errors import BudgetError

D = Decimal
calc = BudgetCalculator


def _state(total: Any = "20") -> BudgetState:
    return new_budget(
        {"total_budget": total},
        [
            {"name": "writer", "price": "2", "max_total_spend": "6"},
            {"name": "critic", "price": "0.1"},
            {"name": "free"},
        ],
    )


def _rec(job_id: str, agent: str, expected: Any, actual: Any) -> dict[str, Any]:
    return {"agent_name": agent, "job_id": job_id, "expected": expected, "actual": actual}


def _kinds(advice: list[dict[str, Any]]) -> list[str]:
    return [a["kind"] for a in advice]


# ---------------------------------------------------------------- project_total_cost


def test_project_total_cost_prices_names_and_mappings() -> None:
    """Names cost one job each; mappings multiply by count and may override the price."""
    plan = ["writer", {"agent_name": "critic", "count": 3}, {"agent_name": "writer", "price": 5}]
    assert calc.project_total_cost(plan, _state()) == D("7.3")
    assert calc.project_total_cost([], _state()) == 0


def test_project_total_cost_is_exact() -> None:
    """Ten jobs at 0.1 cost exactly 1.0."""
    total = calc.project_total_cost([{"agent_name": "critic", "count": 10}], _state())
    assert total == D("1.0") and isinstance(total, Decimal)


def test_project_total_cost_uses_learned_prices() -> None:
    """The projection uses the state's current (learned) estimate."""
    state = record_cost(_state(), _rec("j1", "writer", "2", "3"))
    assert calc.project_total_cost(["writer", "writer"], state) == D(6)


def test_unknown_agent_needs_a_price() -> None:
    """An unknown agent is priced by its override, and without one is an error."""
    state = _state()
    assert calc.project_total_cost([{"agent_name": "new", "price": "1.5"}], state) == D("1.5")
    with pytest.raises(BudgetError) as info:
        calc.project_total_cost(["new"], state)
    assert info.value.field == "agent_name" and info.value.value == "new"
    assert "'new'" in str(info.value)


@pytest.mark.parametrize(
    ("plan", "field", "value"),
    [
        ([{"agent_name": "writer", "count": -1}], "count", -1),
        ([{"agent_name": "writer", "count": True}], "count", True),
        ([{"agent_name": "writer", "count": "2"}], "count", "2"),
        ([{"agent_name": "writer", "price": "x"}], "price", "x"),
        ([{"agent_name": "writer", "jobs": 2}], "jobs", 2),
        ([{"count": 2}], "agent_name", None),
        ([7], "planned_jobs[0]", 7),
        ("writer", "planned_jobs", "writer"),
        ({"agent_name": "writer"}, "planned_jobs", {"agent_name": "writer"}),
    ],
)
def test_project_total_cost_rejects_bad_plans(plan: Any, field: str, value: Any) -> None:
    """A malformed plan raises BudgetError naming the field and value."""
    with pytest.raises(BudgetError) as info:
        calc.project_total_cost(plan, _state())
    assert info.value.field == field and info.value.value == value
    assert repr(value) in str(info.value)


# ---------------------------------------------------------------- accuracy


def test_accuracy_metrics_without_records() -> None:
    """Zero records give count 0, zero totals and None for every undefined figure."""
    metrics = calc.get_cost_accuracy_metrics(_state())
    assert metrics == {
        "count": 0,
        "total_expected": D(0),
        "total_actual": D(0),
        "bias_pct": None,
        "mape_pct": None,
        "max_overrun": None,
        "per_agent": {},
    }


def test_accuracy_metrics_over_records() -> None:
    """bias, MAPE and max overrun are computed overall and per agent."""
    state = record_costs(
        _state(None),
        [
            _rec("j1", "writer", "2", "3"),  # +50 %
            _rec("j2", "writer", "2", "1"),  # -50 %
            _rec("j3", "critic", "1", "1.1"),  # +10 %
        ],
    )
    metrics = calc.get_cost_accuracy_metrics(state)
    assert metrics["count"] == 3
    assert metrics["total_expected"] == D(5) and metrics["total_actual"] == D("5.1")
    assert metrics["bias_pct"] == D(2)
    assert metrics["mape_pct"] == D(110) / 3
    assert metrics["max_overrun"] == D(1)
    writer = metrics["per_agent"]["writer"]
    assert writer["count"] == 2 and writer["bias_pct"] == 0
    assert writer["mape_pct"] == D(50) and writer["max_overrun"] == D(1)
    critic = metrics["per_agent"]["critic"]
    assert critic["bias_pct"] == D(10) and critic["max_overrun"] == D("0.1")
    assert set(critic) == {
        "count",
        "total_expected",
        "total_actual",
        "bias_pct",
        "mape_pct",
        "max_overrun",
    }


def test_accuracy_metrics_with_zero_estimates() -> None:
    """Zero estimates leave bias and MAPE undefined; max_overrun may be negative."""
    state = record_cost(_state(None), _rec("j1", "free", "0", "2"))
    free = calc.get_cost_accuracy_metrics(state)["per_agent"]["free"]
    assert free["bias_pct"] is None and free["mape_pct"] is None
    assert free["max_overrun"] == D(2)
    under = record_cost(_state(None), _rec("j1", "writer", "2", "1.5"))
    assert calc.get_cost_accuracy_metrics(under)["max_overrun"] == D("-0.5")


# ---------------------------------------------------------------- recommendations


def test_no_recommendations_for_a_plan_that_fits() -> None:
    """A plan within every limit on an accurate, well-funded budget gets no advice."""
    state = record_cost(_state(), _rec("j1", "writer", "2", "2"))
    assert calc.get_budget_recommendations(state, ["writer", "critic"]) == []


def test_over_budget_says_how_much_and_what_to_drop() -> None:
    """A plan over the total remaining names the shortfall and the dearest jobs to drop."""
    plan = [{"agent_name": "critic", "count": 10}, {"agent_name": "new", "count": 2, "price": 2}]
    assert calc.get_budget_recommendations(_state("5"), plan) == []  # costs exactly 5.0
    state = _state("4")
    advice = calc.get_budget_recommendations(state, plan)
    assert _kinds(advice) == ["over_budget"]
    over = advice[0]
    assert over["amount"] == D("1.0")
    assert "5.0" in over["message"] and "4" in over["message"]
    assert "drop 1 job of 'new' (2 each)" in over["message"]
    assert "raise total_budget by 1.0" in over["message"]
    deep = calc.get_budget_recommendations(_state("0.5"), plan)[0]
    assert deep["amount"] == D("4.5")
    assert "drop 2 jobs of 'new' (2 each), 5 jobs of 'critic' (0.1 each)" in deep["message"]


def test_over_budget_when_already_overspent() -> None:
    """When the budget is already overrun, the advice says no drop is enough."""
    state = record_cost(_state("1"), _rec("j1", "critic", "0.1", "2"))
    over = calc.get_budget_recommendations(state, ["critic"])[0]
    assert over["kind"] == "over_budget"
    assert "used up" in over["message"] and "even dropping every planned job" in over["message"]


def test_agent_limit_advice() -> None:
    """A plan over an agent's own remaining limit says how many fit and by how much it is over."""
    state = _state(None)
    _, state = reserve(state, "writer")
    advice = calc.get_budget_recommendations(state, [{"agent_name": "writer", "count": 3}])
    assert _kinds(advice) == ["agent_limit"]
    limit = advice[0]
    assert limit["agent"] == "writer" and limit["amount"] == D(2)
    assert "has 4 left" in limit["message"] and "needs 6 for 3 jobs" in limit["message"]
    assert "run at most 2" in limit["message"]
    assert "raise its max_total_spend by 2" in limit["message"]


def test_agent_limit_counts_cheapest_jobs_first() -> None:
    """With mixed prices for one agent, the jobs that fit are counted cheapest first."""
    plan = [{"agent_name": "writer", "count": 3}, {"agent_name": "writer", "price": 1}]
    limit = calc.get_budget_recommendations(_state(None), plan)[0]
    assert limit["kind"] == "agent_limit" and limit["amount"] == D(1)
    assert "needs 7 for 4 jobs; run at most 3" in limit["message"]


def test_price_drift_advice() -> None:
    """An agent whose actual costs run over 10 % from estimates on average is flagged."""
    state = record_costs(
        _state(None),
        [
            _rec("j1", "writer", "2", "2.5"),
            _rec("j2", "writer", "2", "2.3"),
            _rec("j3", "critic", "0.1", "0.105"),
            _rec("j4", "free", "0", "0.2"),
        ],
    )
    advice = calc.get_budget_recommendations(state, [])
    assert _kinds(advice) == ["price_drift", "price_drift"]
    free, writer = advice
    assert writer["agent"] == "writer" and writer["amount"] == D("2.4")
    assert "+20.0 %" in writer["message"] and "2 jobs" in writer["message"]
    assert free["agent"] == "free" and "estimated at 0" in free["message"]


def test_low_remaining_advice() -> None:
    """Under 10 % of the total left is flagged with what remains."""
    state = record_cost(_state("10"), _rec("j1", "critic", "9.5", "9.5"))
    advice = calc.get_budget_recommendations(state, [])
    assert _kinds(advice) == ["low_remaining"]
    assert advice[0]["amount"] == D("0.5")
    assert "0.5 (5.0 %)" in advice[0]["message"]
    empty = calc.get_budget_recommendations(_state("0"), [])
    assert _kinds(empty) == ["low_remaining"] and empty[0]["amount"] == 0
    fine = record_cost(_state("10"), _rec("j1", "critic", "9", "9"))
    assert calc.get_budget_recommendations(fine, []) == []


def test_unlimited_budget_never_over_or_low() -> None:
    """With no total budget there is no over_budget or low_remaining advice."""
    plan = [{"agent_name": "critic", "count": 10**6}]
    assert calc.get_budget_recommendations(_state(None), plan) == []


def test_recommendations_validate_the_plan() -> None:
    """A bad plan raises BudgetError, as project_total_cost does."""
    with pytest.raises(BudgetError):
        calc.get_budget_recommendations(_state(), ["ghost"])


# ---------------------------------------------------------------- affordable_jobs


def test_affordable_jobs_matches_reserve() -> None:
    """affordable_jobs is exactly how many reservations reserve would grant now."""
    state = record_cost(_state("7.5"), _rec("j0", "writer", "2", "2"))
    expected = calc.affordable_jobs(state, "writer")
    assert expected == 2  # min(6 - 2, 7.5 - 2) = 4 -> two jobs at 2
    granted = 0
    while True:
        decision, state = reserve(state, "writer")
        if not decision.can_afford:
            break
        granted += 1
    assert granted == expected
    assert calc.affordable_jobs(state, "writer") == 0


def test_affordable_jobs_unbounded_cases() -> None:
    """Unlimited budgets, and free jobs with money left, have no bound (None)."""
    assert calc.affordable_jobs(_state(None), "critic") is None
    assert calc.affordable_jobs(_state("1"), "free") is None
    assert calc.affordable_jobs(_state("0"), "free") == 0


def test_affordable_jobs_rejects_unknown_agent() -> None:
    """An unknown agent raises BudgetError naming it."""
    with pytest.raises(BudgetError) as info:
        calc.affordable_jobs(_state(), "ghost")
    assert info.value.field == "agent_name" and "'ghost'" in str(info.value)
