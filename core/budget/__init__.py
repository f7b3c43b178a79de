"""Budget state: exact money, agents' limits, reservations, the cost ledger and its summary.

A budget is a `BudgetState` value; `reserve`, `release_reservation` and
`record_costs` return a new one, `summarize_budget` projects it, and
`BudgetCalculator` plans within what is left.
"""

from core.budget.calculator import BudgetCalculator
from core.budget.money import to_money, to_optional_money
from core.budget.reducers import (
    agent_remaining,
    new_budget,
    record_cost,
    record_costs,
    release_reservation,
    reserve,
    total_remaining,
)
from core.budget.summary import summarize_budget
from core.budget.types import (
    AgentBudget,
    BudgetState,
    CostRecord,
    PricePolicy,
    Reservation,
    ReservationDecision,
    new_price_policy,
    parse_cost_record,
)

__all__ = [
    "AgentBudget",
    "BudgetCalculator",
    "BudgetState",
    "CostRecord",
    "PricePolicy",
    "Reservation",
    "ReservationDecision",
    "agent_remaining",
    "new_budget",
    "new_price_policy",
    "parse_cost_record",
    "record_cost",
    "record_costs",
    "release_reservation",
    "reserve",
    "summarize_budget",
    "to_money",
    "to_optional_money",
    "total_remaining",
]
