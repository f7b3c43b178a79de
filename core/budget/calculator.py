"""Pure what-if arithmetic over a budget: plan costs, estimate accuracy, advice.

Nothing here changes a `BudgetState`; every answer is computed from the state
and a plan. A *plan* (``planned_jobs``) is an iterable whose items are either
an agent name (one job at the agent's current estimate) or a mapping
``{"agent_name", "count" (default 1), "price" (optional override)}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from core.batch_args import check_state, item_list, plain_mapping
from core.budget.money import (
    MONEY_CONTEXT,
    RATIO_CONTEXT,
    ZERO,
    format_money,
    money_add,
    money_mean,
    money_mul,
    money_sub,
    money_sum,
    ratio,
    round_places,
    to_money,
)
from core.budget.reducers import BudgetState, CostRecord, agent_remaining, total_remaining
from core.errors import BudgetError, describe

__all__ = [
    "LOW_REMAINING_FRACTION",
    "BudgetCalculator",
    "PlanLine",
    "accuracy_metrics",
    "plan_lines",
]

#: Below this share of the total budget left, `low_remaining` is advised.
LOW_REMAINING_FRACTION = Decimal("0.10")

_HUNDRED = Decimal(100)
_PLAN_KEYS = frozenset({"agent_name", "count", "price"})


class PlanLine(NamedTuple):
    """One normalised line of a plan: ``jobs`` jobs of an agent at ``unit_price`` each."""

    agent_name: str
    jobs: int
    unit_price: Decimal


def _plan_error(field: object, value: Any, message: str) -> BudgetError:
    return BudgetError(message, field=field, value=value)


def _plan_line(item: Any, index: int, state: BudgetState) -> PlanLine:
    where = f"planned_jobs[{index}]"
    if isinstance(item, str):
        item = {"agent_name": item}
    if not isinstance(item, Mapping):
        raise _plan_error(
            where, item, f"{where} must be an agent name or a mapping, got {describe(item)}"
        )
    item = plain_mapping(item, where, BudgetError)
    for key in item:
        if key not in _PLAN_KEYS:
            raise _plan_error(
                key,
                item[key],
                f"{where} has unknown key {describe(key)}, got {describe(item[key])}",
            )
    name = item.get("agent_name")
    if not isinstance(name, str) or not name.strip():
        raise _plan_error(
            "agent_name",
            name,
            f"{where} agent_name must be a non-empty string, got {describe(name)}",
        )
    count = item.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _plan_error(
            "count", count, f"{where} count must be an integer >= 0, got {describe(count)}"
        )
    if item.get("price") is not None:
        price = to_money(item["price"], "price")
    elif name in state.agents:
        price = state.agents[name].expected_price
    else:
        raise _plan_error(
            "agent_name",
            name,
            f"{where} names unknown agent {describe(name)} and gives no price to estimate it",
        )
    return PlanLine(name, count, price)


def plan_lines(planned_jobs: Iterable[Any], budget_state: BudgetState) -> list[PlanLine]:
    """Normalise a plan into `PlanLine` items, pricing each at the state's estimate.

    Raises:
        BudgetError: For a malformed plan or an unknown agent without a price.
    """
    check_state(budget_state, BudgetState, "budget_state")
    items = item_list(planned_jobs, "planned_jobs", BudgetError, "agent names or mappings")
    return [_plan_line(item, i, budget_state) for i, item in enumerate(items)]


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else RATIO_CONTEXT.multiply(value, _HUNDRED)


def accuracy_metrics(records: Iterable[CostRecord]) -> dict[str, Any]:
    """Compare actual to expected costs over some cost records.

    Returns:
        ``count``; ``total_expected`` and ``total_actual`` (exact);
        ``bias_pct`` = (total actual - total expected) / total expected * 100;
        ``mape_pct`` = mean of |actual - expected| / expected * 100 over the
        records with a non-zero ``expected`` (a zero estimate has no
        percentage error); ``max_overrun`` = the largest actual - expected
        (negative when every job came in under). Ratios that are undefined,
        and ``max_overrun`` with no records, are ``None``.
    """
    rows = list(records)
    total_expected = money_sum(r.expected for r in rows)
    total_actual = money_sum(r.actual for r in rows)
    errors = [
        RATIO_CONTEXT.divide(abs(money_sub(r.actual, r.expected)), r.expected)
        for r in rows
        if not r.expected.is_zero()
    ]
    mape = None
    if errors:
        total_error = ZERO
        for error in errors:
            total_error = RATIO_CONTEXT.add(total_error, error)
        mape = RATIO_CONTEXT.divide(total_error, Decimal(len(errors)))
    overruns = [money_sub(r.actual, r.expected) for r in rows]
    return {
        "count": len(rows),
        "total_expected": total_expected,
        "total_actual": total_actual,
        "bias_pct": _percent(ratio(money_sub(total_actual, total_expected), total_expected)),
        "mape_pct": _percent(mape),
        "max_overrun": max(overruns) if overruns else None,
    }


def _jobs(n: int) -> str:
    return f"{n} job" if n == 1 else f"{n} jobs"


def _jobs_phrase(drops: list[tuple[PlanLine, int]]) -> str:
    parts = [
        f"{_jobs(n)} of {describe(line.agent_name)} ({format_money(line.unit_price)} each)"
        for line, n in drops
    ]
    return ", ".join(parts)


def _over_budget(lines: list[PlanLine], plan_cost: Decimal, remaining: Decimal) -> dict[str, Any]:
    shortfall = money_sub(plan_cost, remaining)
    # Dropping the dearest jobs first frees the shortfall with the fewest jobs dropped.
    drops: list[tuple[PlanLine, int]] = []
    freed = ZERO
    for line in sorted(lines, key=lambda ln: (-ln.unit_price, ln.agent_name)):
        if freed >= shortfall or line.unit_price.is_zero() or line.jobs == 0:
            continue
        still = money_sub(shortfall, freed)
        needed = int(MONEY_CONTEXT.divide_int(still, line.unit_price))
        if money_mul(line.unit_price, needed) < still:
            needed += 1
        n = min(line.jobs, needed)
        drops.append((line, n))
        freed = money_add(freed, money_mul(line.unit_price, n))
    if remaining > 0:
        head = (
            f"The plan costs {format_money(plan_cost)} but only {format_money(remaining)} "
            f"of the total budget remains, {format_money(shortfall)} short"
        )
    else:
        head = (
            f"The plan costs {format_money(plan_cost)} but the total budget is used up "
            f"(remaining {format_money(remaining)}), {format_money(shortfall)} short"
        )
    if freed >= shortfall:
        advice = f"drop {_jobs_phrase(drops)}, or raise total_budget by {format_money(shortfall)}."
    else:
        advice = (
            f"even dropping every planned job leaves it over; raise total_budget by at least "
            f"{format_money(money_sub(shortfall, freed))} before running any."
        )
    return {"kind": "over_budget", "message": f"{head}; {advice}", "amount": shortfall}


def _fitting_jobs(lines: list[PlanLine], left: Decimal) -> int:
    """Count the jobs `reserve` would grant out of ``left``, cheapest first."""
    fit = 0
    for line in sorted(lines, key=lambda ln: ln.unit_price):
        # `reserve` refuses once nothing remains, even a free job.
        if left <= 0:
            break
        if line.unit_price.is_zero():
            fit += line.jobs
            continue
        n = min(line.jobs, int(MONEY_CONTEXT.divide_int(left, line.unit_price)))
        fit += n
        left = money_sub(left, money_mul(line.unit_price, n))
    return fit


def _agent_limits(lines: list[PlanLine], state: BudgetState) -> list[dict[str, Any]]:
    per_agent: dict[str, list[PlanLine]] = {}
    for line in lines:
        per_agent.setdefault(line.agent_name, []).append(line)
    advice = []
    for name in sorted(per_agent):
        agent = state.agents.get(name)
        if agent is None or agent.limit is None:
            continue
        own = money_sub(money_sub(agent.limit, agent.spent), agent.reserved)
        agent_lines = per_agent[name]
        cost = money_sum(money_mul(ln.unit_price, ln.jobs) for ln in agent_lines)
        if cost <= own:
            continue
        excess = money_sub(cost, own)
        count = sum(ln.jobs for ln in agent_lines)
        fit = _fitting_jobs(agent_lines, own)
        advice.append(
            {
                "kind": "agent_limit",
                "agent": name,
                "amount": excess,
                "message": (
                    f"Agent {describe(name)} has {format_money(own)} left of its max_total_spend "
                    "but the "
                    f"plan needs {format_money(cost)} for {_jobs(count)}; run at most {fit} of "
                    f"them or raise its max_total_spend by {format_money(excess)}."
                ),
            }
        )
    return advice


def _price_drift(state: BudgetState) -> list[dict[str, Any]]:
    by_agent: dict[str, list[CostRecord]] = {}
    for record in state.cost_records:
        by_agent.setdefault(record.agent_name, []).append(record)
    limit_pct = _percent(state.policy.drift_threshold)
    assert limit_pct is not None
    advice = []
    for name in sorted(by_agent):
        rows = by_agent[name]
        metrics = accuracy_metrics(rows)
        bias = metrics["bias_pct"]
        if bias is None:
            drifted = metrics["total_actual"] > 0
            how = f"were estimated at 0 but cost {format_money(metrics['total_actual'])}"
        else:
            drifted = abs(bias) > limit_pct
            how = f"ran {round_places(bias, 1):+f} % vs estimates"
        if not drifted:
            continue
        average = money_mean(r.actual for r in rows)
        expected = state.agents[name].expected_price if name in state.agents else None
        advice.append(
            {
                "kind": "price_drift",
                "agent": name,
                "amount": average,
                "message": (
                    f"Agent {describe(name)} actual costs {how} over {_jobs(len(rows))} (average "
                    f"{format_money(average)} per job, expected price now "
                    f"{format_money(expected)}); update its price in the agents config so "
                    f"reservations match what it really costs."
                ),
            }
        )
    return advice


def _low_remaining(state: BudgetState) -> dict[str, Any] | None:
    total = state.total_budget
    remaining = total_remaining(state)
    if total is None or remaining is None:
        return None
    floor = MONEY_CONTEXT.multiply(total, LOW_REMAINING_FRACTION)
    if remaining > 0 and remaining >= floor:
        return None
    share = _percent(ratio(remaining, total))
    share_text = "" if share is None else f" ({round_places(share, 1):f} %)"
    return {
        "kind": "low_remaining",
        "amount": remaining,
        "message": (
            f"Only {format_money(remaining)}{share_text} of the total budget of "
            f"{format_money(total)} remains; raise total_budget or pause new jobs."
        ),
    }


class BudgetCalculator:
    """Stateless budget projections; every method is a pure static function."""

    @staticmethod
    def project_total_cost(planned_jobs: Iterable[Any], budget_state: BudgetState) -> Decimal:
        """Return the exact cost of a plan at the state's current estimates.

        Args:
            planned_jobs: Agent names and/or ``{"agent_name", "count", "price"}`` mappings.
            budget_state: The budget whose estimates price the plan.

        Raises:
            BudgetError: For a malformed plan or an unknown agent without a price.
        """
        lines = plan_lines(planned_jobs, budget_state)
        return money_sum(money_mul(line.unit_price, line.jobs) for line in lines)

    @staticmethod
    def get_cost_accuracy_metrics(budget_state: BudgetState) -> dict[str, Any]:
        """Return accuracy metrics over all records, plus ``per_agent`` with the same keys.

        See `accuracy_metrics` for the keys; ``per_agent`` maps each agent
        that has records to its own metrics.
        """
        check_state(budget_state, BudgetState, "budget_state")
        by_agent: dict[str, list[CostRecord]] = {}
        for record in budget_state.cost_records:
            by_agent.setdefault(record.agent_name, []).append(record)
        metrics = accuracy_metrics(budget_state.cost_records)
        metrics["per_agent"] = {name: accuracy_metrics(by_agent[name]) for name in sorted(by_agent)}
        return metrics

    @staticmethod
    def get_budget_recommendations(
        budget_state: BudgetState, planned_jobs: Iterable[Any]
    ) -> list[dict[str, Any]]:
        """Advise on a plan: what to drop, which limits bind, which prices drift.

        Args:
            budget_state: The budget.
            planned_jobs: The plan to check (may be empty).

        Returns:
            Mappings ``{"kind", "message", "agent" (optional), "amount" (optional)}``
            in this order: ``over_budget`` (amount = shortfall), ``agent_limit``
            per agent (amount = excess over its own remaining limit),
            ``price_drift`` per agent whose aggregate bias exceeds the policy's
            drift threshold (amount = its average actual cost per job), and
            ``low_remaining`` when under 10 % of the total is left (amount =
            what remains).

        Raises:
            BudgetError: For a malformed plan or an unknown agent without a price.
        """
        check_state(budget_state, BudgetState, "budget_state")
        lines = plan_lines(planned_jobs, budget_state)
        plan_cost = money_sum(money_mul(line.unit_price, line.jobs) for line in lines)
        advice: list[dict[str, Any]] = []
        remaining = total_remaining(budget_state)
        if remaining is not None and plan_cost > remaining:
            advice.append(_over_budget(lines, plan_cost, remaining))
        advice.extend(_agent_limits(lines, budget_state))
        advice.extend(_price_drift(budget_state))
        low = _low_remaining(budget_state)
        if low is not None:
            advice.append(low)
        return advice

    @staticmethod
    def affordable_jobs(budget_state: BudgetState, agent_name: str) -> int | None:
        """Return how many more jobs of an agent `reserve` would grant right now.

        A job is granted while the agent's remaining is positive and at least
        its expected price, so this is ``floor(remaining / price)``, or 0 when
        nothing remains.

        Returns:
            The count, or ``None`` when there is no bound (unlimited budget, or
            a zero price with money left).

        Raises:
            BudgetError: If the agent is unknown.
        """
        check_state(budget_state, BudgetState, "budget_state")
        remaining = agent_remaining(budget_state, agent_name)
        if remaining is None:
            return None
        if remaining <= 0:
            return 0
        price = budget_state.agents[agent_name].expected_price
        if price.is_zero():
            return None
        return int(MONEY_CONTEXT.divide_int(remaining, price))
