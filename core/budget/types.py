"""Budget values and their validation: the records the budget reducers work on.

`core.budget.reducers` holds the reducers; this module holds the immutable records they
read and return (`BudgetState` and its parts), plus the small checks that turn
untrusted input (config blocks, cost records) into those records or raise a
`BudgetError` naming the field and value. Amounts are exact `Decimal` (see
`core.budget.money`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from pyrsistent.typing import PMap, PVector

from core.batch_args import check_keys, item_list, plain_mapping
from core.budget.money import ZERO, to_money
from core.errors import BudgetError, describe
from core.timestamps import epoch_seconds

__all__ = [
    "AgentBudget",
    "BudgetState",
    "CostRecord",
    "PricePolicy",
    "Reservation",
    "ReservationDecision",
    "budget_error",
    "check_iterable",
    "check_mapping",
    "check_name",
    "new_price_policy",
    "parse_cost_record",
]


class PricePolicy(NamedTuple):
    """When and how an agent's expected price is re-learned from its actual costs.

    Attributes:
        drift_threshold: Relative error ``|actual - expected| / expected`` above
            which the price is re-learned.
        window: How many of the agent's latest actual costs the new price averages.
    """

    drift_threshold: Decimal = Decimal("0.10")
    window: int = 5


class AgentBudget(NamedTuple):
    """One agent's budget.

    Attributes:
        name: The agent's name.
        limit: Its ``max_total_spend``; ``None`` is unlimited.
        expected_price: Current estimate of one job's cost.
        spent: Sum of its recorded actual costs.
        reserved: Expected cost of its jobs submitted but not yet paid.
        recent_actuals: Its latest actual costs, oldest first, at most ``policy.window``.
    """

    name: str
    limit: Decimal | None
    expected_price: Decimal
    spent: Decimal = ZERO
    reserved: Decimal = ZERO
    recent_actuals: tuple[Decimal, ...] = ()


class CostRecord(NamedTuple):
    """One paid job: what was expected and what it actually cost.

    Attributes:
        agent_name: The agent that ran the job.
        job_id: The job, unique across the ledger.
        expected: The cost that was reserved for it.
        actual: The cost that was paid.
        at: When it was paid (seconds since the epoch), if known.
    """

    agent_name: str
    job_id: str
    expected: Decimal
    actual: Decimal
    at: float | None = None


class ReservationDecision(NamedTuple):
    """The answer to "may this agent run one more job?".

    Attributes:
        can_afford: Whether the expected cost was reserved.
        expected_cost: The agent's expected cost for one job.
        reason: A sentence saying what was reserved, or which limit refused and by how much.
    """

    can_afford: bool
    expected_cost: Decimal
    reason: str


class Reservation(NamedTuple):
    """A granted reservation remembered under its id, so a retry returns it unchanged."""

    agent_name: str
    decision: ReservationDecision


class BudgetState(NamedTuple):
    """The whole budget: totals, agents, the cost ledger and remembered reservations.

    Attributes:
        total_budget: Overall cap; ``None`` is unlimited.
        total_spent: Sum of all recorded actual costs.
        total_reserved: Sum of all agents' reservations.
        agents: Agent name -> `AgentBudget`.
        cost_records: Every `CostRecord`, in recording order.
        records_by_job: Job id -> its `CostRecord`, for idempotence.
        reservations: Reservation id -> granted `Reservation`.
        policy: The price-learning `PricePolicy`.
    """

    total_budget: Decimal | None
    total_spent: Decimal
    total_reserved: Decimal
    agents: PMap[str, AgentBudget]
    cost_records: PVector[CostRecord]
    records_by_job: PMap[str, CostRecord]
    reservations: PMap[str, Reservation]
    policy: PricePolicy


def budget_error(field: str, value: Any, what: str) -> BudgetError:
    """Return a `BudgetError` saying ``field`` must be ``what``, naming the value it got."""
    return BudgetError(f"{field} must be {what}, got {describe(value)}", field=field, value=value)


def check_name(value: Any, field: str) -> str:
    """Return ``value`` if it is a non-empty string; raise `BudgetError` naming ``field`` if not."""
    if not isinstance(value, str) or not value.strip():
        raise budget_error(field, value, "a non-empty string")
    return value


def check_mapping(value: Any, field: str) -> Mapping[str, Any]:
    """Return ``value`` as a plain dict if it is a mapping; raise `BudgetError` naming ``field``.

    A mapping that cannot be read (see `core.batch_args.plain_mapping`) is refused too.
    """
    if not isinstance(value, Mapping):
        raise budget_error(field, value, "a mapping")
    return plain_mapping(value, field, BudgetError)


def check_iterable(value: Any, field: str) -> list[Any]:
    """Return a batch argument as a list; a lone mapping or string is refused, not iterated."""
    return item_list(value, field, BudgetError, "mappings")


def new_price_policy(drift_threshold: Any = "0.10", window: Any = 5) -> PricePolicy:
    """Build a validated `PricePolicy`.

    Args:
        drift_threshold: Non-negative relative error (``"0.10"`` is 10 %).
        window: Number of latest actual costs to average, at least 1.

    Raises:
        BudgetError: For a bad threshold or window, naming field and value.
    """
    threshold = to_money(drift_threshold, "drift_threshold")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise budget_error("window", window, "an integer >= 1")
    return PricePolicy(drift_threshold=threshold, window=window)


_RECORD_KEYS = frozenset({"agent_name", "expected", "actual", "job_id", "at"})
_RECORD_REQUIRED = ("actual", "agent_name", "expected", "job_id")  # checked in this order


def parse_cost_record(record: Any) -> CostRecord:
    """Validate one cost record and make its amounts exact.

    Args:
        record: ``{"agent_name", "expected", "actual", "job_id", "at" (optional)}``.

    Returns:
        The `CostRecord`; an int ``at`` becomes a float, a missing one ``None``.

    Raises:
        BudgetError: If ``record`` is not a mapping, has an unknown or missing
            key, a blank name or job id, a bad amount or a bad timestamp,
            naming the field and value.
    """
    data = check_mapping(record, "record")
    check_keys(data, _RECORD_KEYS, _RECORD_REQUIRED, "cost record", BudgetError)
    return CostRecord(
        agent_name=check_name(data["agent_name"], "agent_name"),
        job_id=check_name(data["job_id"], "job_id"),
        expected=to_money(data["expected"], "expected"),
        actual=to_money(data["actual"], "actual"),
        at=epoch_seconds(data.get("at"), "at", BudgetError),
    )
