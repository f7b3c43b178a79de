"""A state machine that reserves, records, releases and re-delivers across several agents.

Next to the real `BudgetState` runs `BudgetModel`: plain dicts of exact
`Fraction`s updated by the rules of issue 3 read literally. After every step
the conservation invariants are checked on the real state, and
`summarize_budget` must equal the model's naive recomputation.
"""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from core.budget.reducers import (
    BudgetError,
    new_budget,
    record_cost,
    record_costs,
    release_reservation,
    reserve,
)
from core.budget.summary import summarize_budget
from properties.strategies import (
    ALL_AGENT_NAMES,
    agent_configs,
    amounts,
    as_fraction,
    budget_configs,
    check_batch_matches_sequential,
    cost_record_lists,
    job_ids,
    redeliveries,
    reservation_ids,
    timestamps,
)

_WINDOW = 5
#: More job ids than the shared pool, so one agent collects more than `_WINDOW` records.
machine_job_ids = st.sampled_from([f"job-{i}" for i in range(12)])
_DRIFT = Fraction(1, 10)
_PLACES = 10**18


def _opt(value: Any) -> Fraction | None:
    return None if value is None else as_fraction(value)


def _exact(value: Any) -> Any:
    """Turn every Decimal in a summary into a Fraction, so the comparison is by value."""
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return Fraction(value)


_BIAS = re.compile(r"actual costs were ([+-]\d+\.\d) % vs estimates")
_NO_ESTIMATE = re.compile(r"actual costs were (\d+(?:\.\d+)?) vs estimates of 0")


def _read_sentence(sentence: str | None) -> tuple[str, Fraction] | None:
    if sentence is None:
        return None
    for kind, pattern in (("bias", _BIAS), ("no estimate", _NO_ESTIMATE)):
        found = pattern.fullmatch(sentence)
        if found:
            return kind, Fraction(found.group(1))
    raise AssertionError(f"unexpected cost accuracy sentence {sentence!r}")


class BudgetModel:
    """The budget as plain dicts of Fractions, following issue 3's wording."""

    def __init__(self, budget_config: Any, agents_config: list[dict[str, Any]]) -> None:
        self.total = _opt((budget_config or {}).get("total_budget"))
        self.agents: dict[str, dict[str, Any]] = {}
        for agent in agents_config:
            self.agents[agent["name"]] = self._agent(
                _opt(agent.get("max_total_spend")), as_fraction(agent.get("price", 0))
            )
        self.records: list[dict[str, Any]] = []
        self.by_job: dict[str, dict[str, Any]] = {}
        self.reservations: dict[str, tuple[str, Any]] = {}

    @staticmethod
    def _agent(limit: Fraction | None, price: Fraction) -> dict[str, Any]:
        zero = Fraction(0)
        return {"limit": limit, "price": price, "spent": zero, "reserved": zero, "recent": []}

    def spent(self) -> Fraction:
        return sum((a["spent"] for a in self.agents.values()), Fraction(0))

    def reserved(self) -> Fraction:
        return sum((a["reserved"] for a in self.agents.values()), Fraction(0))

    def total_left(self) -> Fraction | None:
        return None if self.total is None else self.total - self.spent() - self.reserved()

    def remaining(self, agent: dict[str, Any]) -> list[Fraction]:
        own = None
        if agent["limit"] is not None:
            own = agent["limit"] - agent["spent"] - agent["reserved"]
        return [r for r in (own, self.total_left()) if r is not None]

    def reserve(self, name: str, config: Any) -> tuple[bool, Fraction]:
        price = as_fraction((config or {}).get("price", 0))
        agent = self.agents.get(name) or self._agent(None, price)
        cost = agent["price"]
        if any(r <= 0 or r < cost for r in self.remaining(agent)):
            return False, cost
        agent["reserved"] += cost
        self.agents[name] = agent
        return True, cost

    def record(self, raw: dict[str, Any]) -> str:
        """Record a valid cost record; return "new", "same" or "conflict"."""
        record = {
            "agent_name": raw["agent_name"],
            "job_id": raw["job_id"],
            "expected": as_fraction(raw["expected"]),
            "actual": as_fraction(raw["actual"]),
            "at": None if raw.get("at") is None else float(raw["at"]),
        }
        earlier = self.by_job.get(record["job_id"])
        if earlier is not None:
            same = all(earlier[k] == record[k] for k in ("agent_name", "expected", "actual"))
            return "same" if same else "conflict"
        expected, actual = record["expected"], record["actual"]
        agent = self.agents.setdefault(record["agent_name"], self._agent(None, expected))
        agent["reserved"] -= min(expected, agent["reserved"])
        agent["spent"] += actual
        agent["recent"] = (agent["recent"] + [actual])[-_WINDOW:]
        drifted = actual > 0 if expected == 0 else abs(actual - expected) / expected > _DRIFT
        if drifted:
            mean = sum(agent["recent"], Fraction(0)) / len(agent["recent"])
            agent["price"] = Fraction(round(mean * _PLACES), _PLACES)
        self.records.append(record)
        self.by_job[record["job_id"]] = record
        return "new"

    def release(self, name: str, amount: Any) -> None:
        agent = self.agents[name]
        agent["reserved"] -= min(as_fraction(amount), agent["reserved"])

    def accuracy(self) -> tuple[str, Fraction] | None:
        if not self.records:
            return None
        expected = sum((r["expected"] for r in self.records), Fraction(0))
        actual = sum((r["actual"] for r in self.records), Fraction(0))
        if expected == 0:
            return "no estimate", actual
        return "bias", Fraction(round((actual - expected) / expected * 1000), 10)

    def summary(self) -> dict[str, Any]:
        agents = {}
        for name in sorted(self.agents):
            agent = self.agents[name]
            left = self.remaining(agent)
            agents[name] = {
                "spent": agent["spent"],
                "reserved": agent["reserved"],
                "remaining": min(left) if left else None,
                "limit": agent["limit"],
                "expected_price": agent["price"],
            }
        return {
            "total_budget": self.total,
            "total_spent": self.spent(),
            "total_reserved": self.reserved(),
            "total_remaining": self.total_left(),
            "agents": agents,
            "cost_accuracy": self.accuracy(),
            "recent_costs": [dict(r) for r in self.records[-10:]],
        }


class BudgetMachine(RuleBasedStateMachine):
    """Random reserves, records, releases, retries and re-deliveries against the model."""

    recorded = Bundle("recorded")

    @initialize(config=budget_configs())
    def start(self, config: tuple[Any, list[dict[str, Any]]]) -> None:
        self.state = new_budget(*config)
        self.model = BudgetModel(*config)

    @rule(
        agent=st.sampled_from(ALL_AGENT_NAMES),
        config=agent_configs(),
        rid=st.none() | reservation_ids,
    )
    def reserve_job(self, agent: str, config: Any, rid: str | None) -> None:
        remembered = self.model.reservations.get(rid) if rid is not None else None
        try:
            decision, state = reserve(self.state, agent, config, rid)
        except BudgetError:
            assert remembered is not None and remembered[0] != agent
            return
        if remembered is not None:
            assert remembered == (agent, decision)
            assert state == self.state
            return
        granted, cost = self.model.reserve(agent, config)
        assert (decision.can_afford, Fraction(decision.expected_cost)) == (granted, cost)
        if granted:
            # At the time of granting, spent + reserved stays within both limits.
            chosen = state.agents[agent]
            if chosen.limit is not None:
                assert chosen.spent + chosen.reserved <= chosen.limit
            if state.total_budget is not None:
                assert state.total_spent + state.total_reserved <= state.total_budget
            if rid is not None:
                self.model.reservations[rid] = (agent, decision)
        else:
            assert state == self.state
        self.state = state

    @rule(
        target=recorded,
        agent=st.sampled_from(ALL_AGENT_NAMES),
        job_id=st.one_of(job_ids, machine_job_ids),
        expected=st.none() | amounts(max_cents=5_000),
        actual=amounts(max_cents=8_000),
        at=st.none() | timestamps,
    )
    def record_job(
        self, agent: str, job_id: str, expected: Any, actual: Any, at: float | None
    ) -> Any:
        if expected is None:  # the usual case: what was reserved is what was expected
            known = self.state.agents.get(agent)
            expected = known.expected_price if known else 0
        record = {
            "agent_name": agent,
            "job_id": job_id,
            "expected": expected,
            "actual": actual,
            "at": at,
        }
        outcome = self.model.record(record)
        try:
            state = record_cost(self.state, record)
        except BudgetError:
            assert outcome == "conflict"
            return multiple()
        assert outcome != "conflict"
        if outcome == "same":
            assert state == self.state
        self.state = state
        return record

    @rule(
        agent=st.sampled_from(ALL_AGENT_NAMES),
        actuals=st.lists(amounts(max_cents=3_000), min_size=1, max_size=7),
    )
    def record_burst(self, agent: str, actuals: list[Any]) -> None:
        """Several fresh jobs of one agent paid in a row, so price learning sees its window."""
        for actual in actuals:
            known = self.state.agents.get(agent)
            record = {
                "agent_name": agent,
                "job_id": f"burst-{len(self.model.records)}",
                "expected": known.expected_price if known else 0,
                "actual": actual,
            }
            assert self.model.record(record) == "new"
            self.state = record_cost(self.state, record)

    @rule(record=recorded, data=st.data())
    def redeliver(self, record: dict[str, Any], data: st.DataObject) -> None:
        again = data.draw(redeliveries(record))
        assert record_cost(self.state, again) == self.state
        assert record_costs(self.state, [again, record]) == self.state
        assert self.model.record(again) == "same"

    @rule(agent=st.sampled_from(ALL_AGENT_NAMES), amount=amounts(max_cents=5_000))
    def release(self, agent: str, amount: Any) -> None:
        try:
            state = release_reservation(self.state, agent, amount)
        except BudgetError:
            assert agent not in self.model.agents
            return
        self.model.release(agent, amount)
        self.state = state

    @rule(records=cost_record_lists(max_size=5))
    def record_batch(self, records: list[Any]) -> None:
        check_batch_matches_sequential(self.state, records, record_costs, record_cost)
        try:
            state = record_costs(self.state, records)
        except BudgetError:
            return
        trial = copy.deepcopy(self.model)
        assert "conflict" not in [trial.record(r) for r in records]
        self.model, self.state = trial, state

    @invariant()
    def conservation(self) -> None:
        s = self.state
        agents = list(s.agents.values())
        assert Fraction(s.total_spent) == sum(Fraction(r.actual) for r in s.cost_records)
        assert Fraction(s.total_spent) == sum(Fraction(a.spent) for a in agents)
        assert Fraction(s.total_reserved) == sum(Fraction(a.reserved) for a in agents)
        amounts_held = [s.total_spent, s.total_reserved]
        amounts_held += [x for a in agents for x in (a.spent, a.reserved, a.expected_price)]
        amounts_held += [x for x in [s.total_budget, *(a.limit for a in agents)] if x is not None]
        assert all(x >= 0 for x in amounts_held)

    @invariant()
    def summary_equals_model(self) -> None:
        summary = _exact(summarize_budget(self.state))
        summary["cost_accuracy"] = _read_sentence(summarize_budget(self.state)["cost_accuracy"])
        assert summary == self.model.summary()


BudgetMachine.TestCase.settings = settings(stateful_step_count=25)
test_budget_machine = BudgetMachine.TestCase
test_budget_machine.__doc__ = "Conservation and model agreement hold after every budget operation."
