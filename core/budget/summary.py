"""A plain, freshly built snapshot of a budget, for logs, dashboards and the shell."""

from __future__ import annotations

from typing import Any

from core.batch_args import check_state
from core.budget.calculator import accuracy_metrics
from core.budget.money import format_money, round_places
from core.budget.reducers import BudgetState, agent_remaining, total_remaining

__all__ = ["RECENT_COSTS", "cost_accuracy_sentence", "summarize_budget"]

#: How many of the latest cost records `summarize_budget` lists.
RECENT_COSTS = 10


def cost_accuracy_sentence(state: BudgetState) -> str | None:
    """Say in one sentence how actual costs compared with estimates overall.

    Returns:
        ``"actual costs were +3.1 % vs estimates"`` (bias over all records,
        rounded half-even to one decimal); when every estimate was 0, the
        actual total instead (``"actual costs were 2.5 vs estimates of 0"``);
        ``None`` with no records.
    """
    check_state(state, BudgetState, "state")
    if not state.cost_records:
        return None
    metrics = accuracy_metrics(state.cost_records)
    bias = metrics["bias_pct"]
    if bias is None:
        return f"actual costs were {format_money(metrics['total_actual'])} vs estimates of 0"
    rounded = round_places(bias, 1)
    if rounded.is_zero():
        # quantize keeps the sign of a small negative bias; "-0.0 %" reads as a typo.
        rounded = abs(rounded)
    return f"actual costs were {rounded:+f} % vs estimates"


def summarize_budget(state: BudgetState) -> dict[str, Any]:
    """Project a budget into plain dicts; amounts stay `Decimal`, ``None`` means unlimited.

    Returns:
        ``total_budget``, ``total_spent``, ``total_reserved``,
        ``total_remaining``; ``agents``: name -> ``spent``, ``reserved``,
        ``remaining`` (see `core.budget.agent_remaining`), ``limit``,
        ``expected_price``, in name order; ``cost_accuracy`` (see
        `cost_accuracy_sentence`); ``recent_costs``: the last `RECENT_COSTS`
        records, oldest first, as dicts with ``agent_name``, ``job_id``,
        ``expected``, ``actual``, ``at``.
    """
    check_state(state, BudgetState, "state")
    agents = {
        name: {
            "spent": agent.spent,
            "reserved": agent.reserved,
            "remaining": agent_remaining(state, name),
            "limit": agent.limit,
            "expected_price": agent.expected_price,
        }
        for name, agent in sorted(state.agents.items(), key=lambda item: item[0])
    }
    return {
        "total_budget": state.total_budget,
        "total_spent": state.total_spent,
        "total_reserved": state.total_reserved,
        "total_remaining": total_remaining(state),
        "agents": agents,
        "cost_accuracy": cost_accuracy_sentence(state),
        "recent_costs": [dict(r._asdict()) for r in state.cost_records[-RECENT_COSTS:]],
    }
