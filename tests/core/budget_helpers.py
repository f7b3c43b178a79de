"""Builders and checks shared by the tests/test_budget*.py files."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.budget.reducers import BudgetState, new_budget, reserve
from core.errors import BudgetError

__all__ = [
    "BATCH",
    "MISSING",
    "D",
    "assert_error",
    "make_state",
    "rec",
    "reserved_state",
    "snapshot",
]

D = Decimal
MISSING = object()


def make_state(total: Any = "10", **agents: dict[str, Any]) -> BudgetState:
    """A budget of ``total`` with one agent per keyword, its config as the value."""
    config = [{"name": name, **spec} for name, spec in agents.items()]
    return new_budget({"total_budget": total}, config)


def rec(
    job_id: str, agent: str = "a", expected: Any = "1", actual: Any = "1", **extra: Any
) -> dict[str, Any]:
    """A cost record mapping, 1 expected and 1 actual for agent ``a`` unless told."""
    return {"agent_name": agent, "job_id": job_id, "expected": expected, "actual": actual, **extra}


def snapshot(state: BudgetState) -> tuple[Any, ...]:
    """A deep, plain copy of every field, to prove a failed call changed nothing."""
    return (
        state.total_budget,
        state.total_spent,
        state.total_reserved,
        sorted((k, tuple(v)) for k, v in state.agents.items()),
        [tuple(r) for r in state.cost_records],
        sorted(state.records_by_job.items()),
        sorted((k, tuple(v)) for k, v in state.reservations.items()),
        tuple(state.policy),
    )


def assert_error(err: BudgetError, field: str, value: Any) -> None:
    """Check the error names ``field`` and ``value``, as attributes and in its message."""
    assert err.field == field
    assert err.value == value
    assert field in str(err)
    assert repr(value) in str(err)


# A batch with an identical duplicate and a new agent: reserved_state() can record it.
BATCH = [
    rec("j1", expected="1", actual="1"),
    rec("j2", agent="b", expected="2", actual="2.5", at=3.0),
    rec("j1", expected="1", actual="1"),  # identical duplicate inside the batch
    rec("j3", agent="new", expected="0.5", actual="0.5"),
    rec("j4", expected="1", actual="2"),
]


def reserved_state() -> BudgetState:
    """Agents ``a`` (price 1, limit 3) and ``b`` (price 2), with a, a and b reserved."""
    state = make_state("20", a={"price": "1", "max_total_spend": "3"}, b={"price": "2"})
    for agent in ("a", "a", "b"):
        _, state = reserve(state, agent)
    return state
