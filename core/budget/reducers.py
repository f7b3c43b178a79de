"""Budget state and its reducers: reservations, releases and idempotent cost records.

A job's expected price is reserved before it is submitted (`reserve`); when it
is paid its actual cost is recorded and the reservation settled
(`record_cost`); when it fails to start the reservation is released
(`release_reservation`). Every reducer is a pure function
``(state, ...) -> new_state`` over immutable records and pyrsistent
collections; amounts are exact `Decimal` (see `core.budget.money`). A reducer that
changes nothing returns the very same state object.

The values themselves (`BudgetState`, `CostRecord`, ...) and the validation of
untrusted input live in `core.budget.types`; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pyrsistent import pmap, pvector
from pyrsistent.typing import PMapEvolver

from core.batch_args import check_keys, check_state, item_ident
from core.budget.money import (
    ZERO,
    format_money,
    money_add,
    money_mean,
    money_sub,
    ratio,
    to_money,
    to_optional_money,
)
from core.budget.types import (
    AgentBudget,
    BudgetState,
    CostRecord,
    PricePolicy,
    Reservation,
    ReservationDecision,
    budget_error,
    check_iterable,
    check_mapping,
    check_name,
    new_price_policy,
    parse_cost_record,
)
from core.errors import BudgetError, StateError, describe

__all__ = [
    "AgentBudget",
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
    "total_remaining",
]

_K = TypeVar("_K")
_V = TypeVar("_V")


_AGENT_KEYS = frozenset({"name", "price", "max_total_spend"})
_BUDGET_KEYS = frozenset({"total_budget"})


def _agent_from_config(config: Mapping[str, Any], where: str) -> AgentBudget:
    check_keys(config, _AGENT_KEYS, ("name",), where, BudgetError)
    name = check_name(config["name"], "name")
    return AgentBudget(
        name=name,
        limit=to_optional_money(config.get("max_total_spend"), "max_total_spend"),
        expected_price=to_money(config.get("price", 0), "price"),
    )


def new_budget(
    budget_config: Mapping[str, Any] | None,
    agents_config: Iterable[Mapping[str, Any]],
    policy: PricePolicy | None = None,
) -> BudgetState:
    """Build a budget from the service's ``budget`` and ``agents`` config blocks.

    Args:
        budget_config: ``{"total_budget": X}``; a missing key, ``None`` value or
            ``None`` block means unlimited.
        agents_config: Iterable of ``{"name", "price" (default 0),
            "max_total_spend" (missing or None = unlimited)}``.
        policy: Price-learning policy; defaults to `PricePolicy()`.

    Returns:
        A fresh `BudgetState` with nothing spent or reserved.

    Raises:
        BudgetError: For unknown keys, bad amounts, bad names, duplicate agent
            names or a bad policy, naming field and value.
    """
    config = {} if budget_config is None else check_mapping(budget_config, "budget_config")
    check_keys(config, _BUDGET_KEYS, (), "budget_config", BudgetError)
    total = to_optional_money(config.get("total_budget"), "total_budget")

    if policy is None:
        policy = PricePolicy()
    elif not isinstance(policy, PricePolicy):
        raise budget_error("policy", policy, "a PricePolicy")
    else:
        policy = new_price_policy(policy.drift_threshold, policy.window)

    agents: dict[str, AgentBudget] = {}
    for index, raw in enumerate(check_iterable(agents_config, "agents_config")):
        where = f"agents_config[{index}]"
        agent = _agent_from_config(check_mapping(raw, where), where)
        if agent.name in agents:
            raise BudgetError(
                f"duplicate agent name {describe(agent.name)} at {where}",
                field="name",
                value=agent.name,
            )
        agents[agent.name] = agent

    return BudgetState(
        total_budget=total,
        total_spent=ZERO,
        total_reserved=ZERO,
        agents=pmap(agents),
        cost_records=pvector(),
        records_by_job=pmap(),
        reservations=pmap(),
        policy=policy,
    )


def _known_agent(state: BudgetState, agent_name: Any) -> AgentBudget:
    name = check_name(agent_name, "agent_name")
    agent = state.agents.get(name)
    if agent is None:
        raise BudgetError(
            f"agent_name {describe(name)} is not a known agent", field="agent_name", value=name
        )
    return agent


def _agent_own_remaining(agent: AgentBudget) -> Decimal | None:
    if agent.limit is None:
        return None
    return money_sub(money_sub(agent.limit, agent.spent), agent.reserved)


def total_remaining(state: BudgetState) -> Decimal | None:
    """Return ``total_budget - total_spent - total_reserved``; ``None`` if unlimited.

    The result is negative when recorded actual costs overran the budget.
    """
    check_state(state, BudgetState, "state")
    if state.total_budget is None:
        return None
    return money_sub(money_sub(state.total_budget, state.total_spent), state.total_reserved)


def agent_remaining(state: BudgetState, agent_name: str) -> Decimal | None:
    """Return what the agent may still reserve: the lower of its own and the total remaining.

    Args:
        state: The budget.
        agent_name: A known agent.

    Returns:
        ``min(limit - spent - reserved, total remaining)``, ignoring whichever
        is unlimited; ``None`` when both are. Negative after an overrun.

    Raises:
        BudgetError: If the agent is unknown.
    """
    check_state(state, BudgetState, "state")
    own = _agent_own_remaining(_known_agent(state, agent_name))
    total = total_remaining(state)
    if own is None:
        return total
    if total is None:
        return own
    return min(own, total)


def _shortfalls(state: BudgetState, agent: AgentBudget, cost: Decimal) -> list[str]:
    """Describe every limit that refuses ``cost``; empty when it is affordable."""
    reasons = []
    limits = (
        (f"agent {describe(agent.name)} limit", _agent_own_remaining(agent)),
        ("total budget", total_remaining(state)),
    )
    for label, remaining in limits:
        if remaining is None:
            continue
        if remaining <= 0:
            over = f", over by {format_money(-remaining)}" if remaining < 0 else ""
            reasons.append(f"{label} is exhausted (remaining {format_money(remaining)}{over})")
        elif remaining < cost:
            reasons.append(
                f"{label} has {format_money(remaining)} left, "
                f"short of the expected cost {format_money(cost)} by "
                f"{format_money(money_sub(cost, remaining))}"
            )
    return reasons


def reserve(
    state: BudgetState,
    agent_name: str,
    agent_config: Mapping[str, Any] | None = None,
    reservation_id: str | None = None,
) -> tuple[ReservationDecision, BudgetState]:
    """Reserve one job's expected cost for an agent, if the budget allows.

    The expected cost is the state's current estimate for the agent; for an
    agent not yet in the state it is ``agent_config["price"]`` (default 0),
    and the agent is added with ``agent_config["max_total_spend"]`` as its
    limit (missing = unlimited). An agent already in the state keeps its own
    estimate and limit: a learned price beats a config that may be stale.
    The job is refused when the agent's remaining (see `agent_remaining`) is
    ``<= 0`` or below the expected cost.

    Only granted reservations are remembered under ``reservation_id``; a
    retry with that id returns the first decision and leaves the state
    unchanged, so a retried call never reserves twice. Refusals are not
    remembered and return the state unchanged (the same object): a refusal
    reserves nothing, so re-asking cannot double-reserve, and pinning a stale
    "no" to the id would strand a driver that reuses the job id as the
    reservation id and retries once money is released.

    Args:
        state: The budget.
        agent_name: The agent about to run a job.
        agent_config: That agent's config block, used only if the agent is new.
        reservation_id: Idempotency key for this reservation, if any.

    Returns:
        ``(decision, new_state)``.

    Raises:
        BudgetError: For a bad name, config or id, or a ``reservation_id``
            already used for a different agent.
    """
    check_state(state, BudgetState, "state")
    name = check_name(agent_name, "agent_name")
    if reservation_id is not None:
        check_name(reservation_id, "reservation_id")
        earlier = state.reservations.get(reservation_id)
        if earlier is not None:
            if earlier.agent_name != name:
                raise BudgetError(
                    f"reservation_id {describe(reservation_id)} was used for agent "
                    f"{describe(earlier.agent_name)}, not {describe(name)}",
                    field="reservation_id",
                    value=reservation_id,
                )
            return earlier.decision, state

    # The config is validated even when the agent is known, so a malformed
    # config fails the same way whatever the state happens to hold.
    config = {} if agent_config is None else check_mapping(agent_config, "agent_config")
    from_config = _agent_from_config({"name": name, **config}, "agent_config")
    if from_config.name != name:
        raise BudgetError(
            f"agent_config name {describe(from_config.name)} does not match "
            f"agent_name {describe(name)}",
            field="name",
            value=from_config.name,
        )
    agent = state.agents.get(name, from_config)

    cost = agent.expected_price
    refusals = _shortfalls(state, agent, cost)
    if refusals:
        reason = f"cannot reserve {format_money(cost)} for agent {describe(name)}: " + "; ".join(
            refusals
        )
        return ReservationDecision(False, cost, reason), state

    agent = agent._replace(reserved=money_add(agent.reserved, cost))
    new_state = state._replace(
        total_reserved=money_add(state.total_reserved, cost),
        agents=state.agents.set(name, agent),
    )
    left = format_money(agent_remaining(new_state, name))
    decision = ReservationDecision(
        True, cost, f"reserved {format_money(cost)} for agent {describe(name)}; {left} remaining"
    )
    if reservation_id is not None:
        new_state = new_state._replace(
            reservations=state.reservations.set(reservation_id, Reservation(name, decision))
        )
    return decision, new_state


def release_reservation(state: BudgetState, agent_name: str, amount: Any) -> BudgetState:
    """Give back part of an agent's reservation, e.g. when a job fails to start.

    Releasing more than is reserved releases only what is reserved, so
    ``reserved`` never goes below zero.

    Args:
        state: The budget.
        agent_name: A known agent.
        amount: The amount to release.

    Returns:
        The new state (the same object when nothing was reserved or ``amount`` is 0).

    Raises:
        BudgetError: For an unknown agent or a bad amount.
    """
    check_state(state, BudgetState, "state")
    agent = _known_agent(state, agent_name)
    released = min(to_money(amount, "amount"), agent.reserved)
    if released.is_zero():
        return state
    return state._replace(
        total_reserved=money_sub(state.total_reserved, released),
        agents=state.agents.set(
            agent.name, agent._replace(reserved=money_sub(agent.reserved, released))
        ),
    )


def _drifted(expected: Decimal, actual: Decimal, threshold: Decimal) -> bool:
    if expected.is_zero():
        return actual > 0
    error = ratio(abs(money_sub(actual, expected)), expected)
    return error is not None and error > threshold


def _same_charge(a: CostRecord, b: CostRecord) -> bool:
    # `at` is left out on purpose: a retried call is stamped again, later.
    return a.agent_name == b.agent_name and a.expected == b.expected and a.actual == b.actual


def _settle(
    agent: AgentBudget | None, record: CostRecord, policy: PricePolicy
) -> tuple[AgentBudget, Decimal]:
    """Apply one new record to its agent; return the agent and the reservation settled."""
    if agent is None:
        # Money that was really paid is never refused: an agent we did not know is
        # added unlimited, priced at what this job was expected to cost.
        agent = AgentBudget(name=record.agent_name, limit=None, expected_price=record.expected)
    settled = min(record.expected, agent.reserved)
    recent = (*agent.recent_actuals, record.actual)[-policy.window :]
    price = agent.expected_price
    if _drifted(record.expected, record.actual, policy.drift_threshold):
        price = money_mean(recent)
    agent = agent._replace(
        expected_price=price,
        spent=money_add(agent.spent, record.actual),
        reserved=money_sub(agent.reserved, settled),
        recent_actuals=recent,
    )
    return agent, settled


def _conflict(existing: CostRecord, record: CostRecord) -> BudgetError:
    return BudgetError(
        f"conflicting duplicate cost record for job_id {describe(record.job_id)}: already recorded "
        f"agent {describe(existing.agent_name)} expected {format_money(existing.expected)} actual "
        f"{format_money(existing.actual)}, got agent {describe(record.agent_name)} expected "
        f"{format_money(record.expected)} actual {format_money(record.actual)}",
        field="job_id",
        value=record.job_id,
    )


def record_cost(state: BudgetState, record: Mapping[str, Any]) -> BudgetState:
    """Record one paid job: settle its reservation, add its spend, learn its price.

    ``expected`` is taken off the agent's reservation (never below zero),
    ``actual`` is added to the agent's and the total spend, and the record is
    appended. Under ``state.policy``, when ``|actual - expected| / expected``
    exceeds the threshold (or ``expected`` is 0 and ``actual`` is not), the
    agent's expected price becomes the mean of its last ``window`` actual
    costs, this one included. An unknown agent is added, unlimited.

    Args:
        state: The budget.
        record: ``{"agent_name", "expected", "actual", "job_id", "at" (optional)}``.

    Returns:
        The new state; the very same object if this ``job_id`` was already
        recorded with the same agent and amounts (``at`` is not compared).

    Raises:
        BudgetError: For unknown, missing or badly typed keys, or a conflicting
            duplicate (same ``job_id``, different agent or amounts).
    """
    check_state(state, BudgetState, "state")
    parsed = parse_cost_record(record)
    existing = state.records_by_job.get(parsed.job_id)
    if existing is not None:
        if _same_charge(existing, parsed):
            return state
        raise _conflict(existing, parsed)
    agent, settled = _settle(state.agents.get(parsed.agent_name), parsed, state.policy)
    return state._replace(
        total_spent=money_add(state.total_spent, parsed.actual),
        total_reserved=money_sub(state.total_reserved, settled),
        agents=state.agents.set(agent.name, agent),
        cost_records=state.cost_records.append(parsed),
        records_by_job=state.records_by_job.set(parsed.job_id, parsed),
    )


def _lookup(evolver: PMapEvolver[_K, _V], key: _K) -> _V | None:
    try:
        return evolver[key]
    except KeyError:
        return None


def record_costs(state: BudgetState, records: Iterable[Mapping[str, Any]]) -> BudgetState:
    """Record a batch of paid jobs atomically, exactly as `record_cost` one at a time would.

    Duplicates are judged against the ledger as it stands at each record, so
    a record repeated inside the batch is skipped (identical) or refused
    (conflicting), just as in a sequential run.

    Args:
        state: The budget.
        records: Cost records, as for `record_cost`.

    Returns:
        The new state; the same object if every record was already recorded.

    Raises:
        BudgetError: The error the sequential run would raise at the first bad
            record, re-built with `StateError.in_batch` to name its index and
            job id (``record[3] (job_id='j3'): ...``); ``state`` is untouched.
    """
    check_state(state, BudgetState, "state")
    agents = state.agents.evolver()
    by_job = state.records_by_job.evolver()
    ledger = state.cost_records.evolver()
    total_spent, total_reserved = state.total_spent, state.total_reserved
    for index, raw in enumerate(check_iterable(records, "records")):
        try:
            parsed = parse_cost_record(raw)
            existing = _lookup(by_job, parsed.job_id)
            if existing is not None:
                if _same_charge(existing, parsed):
                    continue
                raise _conflict(existing, parsed)
            agent, settled = _settle(_lookup(agents, parsed.agent_name), parsed, state.policy)
            total_spent = money_add(total_spent, parsed.actual)
            total_reserved = money_sub(total_reserved, settled)
        except StateError as err:
            raise err.in_batch(
                index, item_ident(raw, "job_id"), item="record", ident_name="job_id"
            ) from err
        agents.set(agent.name, agent)
        by_job.set(parsed.job_id, parsed)
        ledger.append(parsed)
    if not ledger.is_dirty():
        return state
    return state._replace(
        total_spent=total_spent,
        total_reserved=total_reserved,
        agents=agents.persistent(),
        cost_records=ledger.persistent(),
        records_by_job=by_job.persistent(),
    )
