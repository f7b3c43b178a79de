"""Tests for core.budget.summary: the plain-dict projection of a budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.budget.reducers import BudgetState, new_budget, record_cost, reserve
from core.budget.summary import cost_accuracy_sentence, summarize_budget

D = Decimal


def _state() -> BudgetState:
    return new_budget(
        {"total_budget": "50"},
        [{"name": "writer", "price": "2", "max_total_spend": "10"}, {"name": "critic"}],
    )


def _rec(job_id: str, expected: Any, actual: Any, agent: str = "writer") -> dict[str, Any]:
    return {"agent_name": agent, "job_id": job_id, "expected": expected, "actual": actual}


def test_summary_has_exactly_the_documented_keys() -> None:
    """summarize_budget returns exactly the seven documented top-level keys."""
    assert set(summarize_budget(_state())) == {
        "total_budget",
        "total_spent",
        "total_reserved",
        "total_remaining",
        "agents",
        "cost_accuracy",
        "recent_costs",
    }


def test_summary_totals_and_agents_stay_decimal() -> None:
    """Totals and per-agent figures are exact Decimals, None where unlimited."""
    state = _state()
    _, state = reserve(state, "writer")
    state = record_cost(state, _rec("j1", "2", "2"))
    _, state = reserve(state, "writer")
    summary = summarize_budget(state)
    assert summary["total_budget"] == D(50)
    assert summary["total_spent"] == D(2)
    assert summary["total_reserved"] == D(2)
    assert summary["total_remaining"] == D(46)
    assert summary["agents"] == {
        "critic": {
            "spent": D(0),
            "reserved": D(0),
            "remaining": D(46),
            "limit": None,
            "expected_price": D(0),
        },
        "writer": {
            "spent": D(2),
            "reserved": D(2),
            "remaining": D(6),
            "limit": D(10),
            "expected_price": D(2),
        },
    }
    assert list(summary["agents"]) == ["critic", "writer"]
    for figure in summary["agents"]["writer"].values():
        assert isinstance(figure, Decimal)


def test_unlimited_summary_uses_none() -> None:
    """With no total budget and no agent limit, remaining figures are None."""
    state = new_budget({}, [{"name": "a", "price": 1}])
    summary = summarize_budget(state)
    assert summary["total_budget"] is None
    assert summary["total_remaining"] is None
    assert summary["agents"]["a"]["remaining"] is None
    assert summary["agents"]["a"]["limit"] is None


def test_cost_accuracy_is_none_without_records() -> None:
    """With no cost records there is no accuracy sentence."""
    assert summarize_budget(_state())["cost_accuracy"] is None
    assert cost_accuracy_sentence(_state()) is None


def test_cost_accuracy_sentence_reports_signed_bias() -> None:
    """The sentence gives the overall bias with a sign and one decimal."""
    state = record_cost(_state(), _rec("j1", "100", "103.1"))
    assert summarize_budget(state)["cost_accuracy"] == "actual costs were +3.1 % vs estimates"
    state = record_cost(state, _rec("j2", "100", "91.9"))
    # (195.0 - 200) / 200 = -2.5 %
    assert summarize_budget(state)["cost_accuracy"] == "actual costs were -2.5 % vs estimates"


def test_cost_accuracy_rounds_half_even_and_drops_negative_zero() -> None:
    """A bias that rounds to zero reads '+0.0 %', never '-0.0 %'."""
    state = record_cost(_state(), _rec("j1", "1000", "999.99"))
    assert cost_accuracy_sentence(state) == "actual costs were +0.0 % vs estimates"


def test_cost_accuracy_with_only_zero_estimates() -> None:
    """When every estimate was 0 the sentence gives the actual total instead of a ratio."""
    state = record_cost(_state(), _rec("j1", "0", "2.5", agent="critic"))
    assert cost_accuracy_sentence(state) == "actual costs were 2.5 vs estimates of 0"


def test_recent_costs_lists_the_last_ten_as_dicts() -> None:
    """recent_costs holds the last 10 records, oldest first, as plain dicts."""
    state = _state()
    for i in range(12):
        state = record_cost(state, _rec(f"j{i:02}", "0.5", "0.5"))
    recent = summarize_budget(state)["recent_costs"]
    assert [r["job_id"] for r in recent] == [f"j{i:02}" for i in range(2, 12)]
    assert recent[0] == {
        "agent_name": "writer",
        "job_id": "j02",
        "expected": D("0.5"),
        "actual": D("0.5"),
        "at": None,
    }
    assert all(type(r) is dict for r in recent)


def test_summary_is_freshly_built() -> None:
    """Mutating a returned summary affects neither the state nor the next summary."""
    state = record_cost(_state(), _rec("j1", "2", "2"))
    first = summarize_budget(state)
    first["agents"]["writer"]["spent"] = D(999)
    first["recent_costs"][0]["actual"] = D(999)
    first["recent_costs"].clear()
    second = summarize_budget(state)
    assert second["agents"]["writer"]["spent"] == D(2)
    assert second["recent_costs"][0]["actual"] == D(2)
    assert state.cost_records[0].actual == D(2)
