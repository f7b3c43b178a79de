"""Tests for core.budget: construction, reserve, release, cost records and remaining."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.budget import (
    AgentBudget,
    BudgetState,
    CostRecord,
    PricePolicy,
    ReservationDecision,
    agent_remaining,
    new_budget,
    new_price_policy,
    record_cost,
    record_costs,
    release_reservation,
    reserve,
    total_remaining,
)
from core.errors import BudgetError

D = Decimal
MISSING = object()


def _state(total: Any = "10", **agents: dict[str, Any]) -> BudgetState:
    config = [{"name": name, **spec} for name, spec in agents.items()]
    return new_budget({"total_budget": total}, config)


def _rec(
    job_id: str, agent: str = "a", expected: Any = "1", actual: Any = "1", **extra: Any
) -> dict[str, Any]:
    return {"agent_name": agent, "job_id": job_id, "expected": expected, "actual": actual, **extra}


def _snapshot(state: BudgetState) -> tuple[Any, ...]:
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


def _assert_error(err: BudgetError, field: str, value: Any) -> None:
    assert err.field == field
    assert err.value == value
    assert field in str(err)
    assert repr(value) in str(err)


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
    _assert_error(info.value, "policy", {"window": 2})
    with pytest.raises(BudgetError) as info:
        new_price_policy(window=0)
    _assert_error(info.value, "window", 0)
    with pytest.raises(BudgetError) as info:
        new_budget({}, [], PricePolicy(D("0.1"), True))
    _assert_error(info.value, "window", True)
    with pytest.raises(BudgetError) as info:
        new_price_policy(drift_threshold="-0.1")
    _assert_error(info.value, "drift_threshold", "-0.1")


# ---------------------------------------------------------------- reserve


def test_reserve_grants_and_holds_the_expected_price() -> None:
    """A granted reservation adds the expected price to agent and total reserved."""
    state = _state("10", a={"price": "1.5", "max_total_spend": "4"})
    decision, after = reserve(state, "a")
    assert decision == ReservationDecision(True, D("1.5"), decision.reason)
    assert "1.5" in decision.reason and "2.5 remaining" in decision.reason
    assert after.agents["a"].reserved == D("1.5")
    assert after.total_reserved == D("1.5")
    assert agent_remaining(after, "a") == D("2.5")
    assert state.total_reserved == 0  # the input is untouched


def test_reserve_refuses_over_agent_limit_and_says_by_how_much() -> None:
    """A job over the agent's remaining limit is refused, naming the limit and the shortfall."""
    state = _state("100", a={"price": "3", "max_total_spend": "5"})
    _, state = reserve(state, "a")
    decision, after = reserve(state, "a")
    assert decision.can_afford is False
    assert decision.expected_cost == D(3)
    assert "agent 'a' limit" in decision.reason
    assert "has 2 left" in decision.reason and "by 1" in decision.reason
    assert after is state


def test_reserve_refuses_over_total_budget() -> None:
    """The total budget caps every agent, even an unlimited one."""
    state = _state("2", a={"price": "1.5"})
    _, state = reserve(state, "a")
    decision, after = reserve(state, "a")
    assert not decision.can_afford
    assert "total budget" in decision.reason and "by 1.0" in decision.reason
    assert after is state


def test_reserve_refuses_when_nothing_remains_even_for_a_free_job() -> None:
    """Remaining <= 0 refuses, even when the expected cost is 0."""
    state = _state("1", a={"price": "0"})
    state = record_cost(state, _rec("j1", expected="0", actual="1"))
    decision, after = reserve(state, "a")
    assert not decision.can_afford
    assert decision.expected_cost == D("1")  # price learned from the 0 -> 1 surprise
    assert "exhausted" in decision.reason
    state = new_budget({"total_budget": 0}, [{"name": "z"}])
    decision, after = reserve(state, "z")
    assert not decision.can_afford and decision.expected_cost == 0
    assert "total budget is exhausted" in decision.reason
    assert after is state


def test_reserve_names_every_refusing_limit() -> None:
    """When both the agent limit and the total refuse, the reason names both."""
    state = _state("1", a={"price": "2", "max_total_spend": "1.5"})
    decision, _ = reserve(state, "a")
    assert "agent 'a' limit has 1.5 left" in decision.reason
    assert "total budget has 1 left" in decision.reason


def test_reserve_overrun_reason_says_how_far_over() -> None:
    """After an overrun the refusal says by how much the budget is already over."""
    state = _state("1", a={"price": "1"})
    state = record_cost(state, _rec("j1", actual="1.25"))
    decision, _ = reserve(state, "a")
    assert "over by 0.25" in decision.reason


def test_reserve_adds_unknown_agent_with_config_price() -> None:
    """An agent missing from the state is added, unlimited, at the config's price."""
    state = _state("10")
    decision, after = reserve(state, "new", {"price": "2"})
    assert decision.can_afford and decision.expected_cost == D(2)
    assert after.agents["new"] == AgentBudget("new", None, D(2), D(0), D(2), ())
    decision, after = reserve(state, "free")
    assert decision.expected_cost == 0
    assert after.agents["free"].reserved == 0


def test_reserve_honours_max_total_spend_of_a_new_agents_config() -> None:
    """A new agent's config may carry its own max_total_spend, which then binds."""
    state = _state(None)
    decision, _ = reserve(state, "new", {"name": "new", "price": 3, "max_total_spend": 2})
    assert not decision.can_afford
    assert "agent 'new' limit has 2 left" in decision.reason


def test_refused_new_agent_is_not_added() -> None:
    """A refusal changes nothing, so a refused unknown agent is not added."""
    state = _state("1")
    decision, after = reserve(state, "new", {"price": 5})
    assert not decision.can_afford
    assert after is state and "new" not in after.agents


def test_reserve_prefers_the_state_estimate_over_the_config() -> None:
    """A known agent's learned price wins over the price in its config."""
    state = _state("10", a={"price": "1"})
    decision, _ = reserve(state, "a", {"name": "a", "price": "9"})
    assert decision.expected_cost == D(1)


def test_same_reservation_id_does_not_double_reserve() -> None:
    """A retried reservation id returns the first decision and leaves the state unchanged."""
    state = _state("10", a={"price": "1"})
    first, state = reserve(state, "a", reservation_id="job-1")
    again, after = reserve(state, "a", reservation_id="job-1")
    assert again == first
    assert after is state
    assert state.total_reserved == D(1)


def test_reservation_id_is_remembered_after_settlement() -> None:
    """After the cost is recorded, a late retry still does not reserve again."""
    state = _state("10", a={"price": "1"})
    _, state = reserve(state, "a", reservation_id="job-1")
    state = record_cost(state, _rec("job-1"))
    decision, after = reserve(state, "a", reservation_id="job-1")
    assert decision.can_afford
    assert after is state and after.total_reserved == 0


def test_refusals_are_not_remembered() -> None:
    """A refused reservation id can be granted later, once money is released."""
    state = _state("1", a={"price": "1"})
    _, state = reserve(state, "a", reservation_id="r1")
    refused, after = reserve(state, "a", reservation_id="r2")
    assert not refused.can_afford
    assert after is state and "r2" not in after.reservations
    state = release_reservation(state, "a", 1)
    granted, state = reserve(state, "a", reservation_id="r2")
    assert granted.can_afford and state.total_reserved == 1


def test_reservation_id_for_another_agent_is_an_error() -> None:
    """Reusing a reservation id for a different agent raises BudgetError and changes nothing."""
    state = _state("10", a={"price": "1"}, b={"price": "1"})
    _, state = reserve(state, "a", reservation_id="r1")
    before = _snapshot(state)
    with pytest.raises(BudgetError) as info:
        reserve(state, "b", reservation_id="r1")
    _assert_error(info.value, "reservation_id", "r1")
    assert _snapshot(state) == before


@pytest.mark.parametrize(
    ("args", "field", "value"),
    [
        (("",), "agent_name", ""),
        ((None,), "agent_name", None),
        (("a", {"price": "-1"}), "price", "-1"),
        (("a", {"prize": 1}), "prize", 1),
        (("a", ["price"]), "agent_config", ["price"]),
        (("a", {"name": "b"}), "name", "b"),
        (("a", None, 7), "reservation_id", 7),
        (("a", None, ""), "reservation_id", ""),
    ],
)
def test_reserve_rejects_bad_input(args: tuple[Any, ...], field: str, value: Any) -> None:
    """Bad names, configs and reservation ids raise BudgetError naming field and value."""
    state = _state("10", a={"price": "1"})
    before = _snapshot(state)
    with pytest.raises(BudgetError) as info:
        reserve(state, *args)
    _assert_error(info.value, field, value)
    assert _snapshot(state) == before


# ---------------------------------------------------------------- release


def test_release_reservation_returns_money() -> None:
    """Releasing lowers agent and total reserved by the amount."""
    state = _state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    after = release_reservation(state, "a", "0.5")
    assert after.agents["a"].reserved == D("1.5")
    assert after.total_reserved == D("1.5")


def test_release_never_goes_below_zero() -> None:
    """Releasing more than is reserved releases only what is reserved."""
    state = _state("10", a={"price": "2"}, b={"price": "3"})
    _, state = reserve(state, "a")
    _, state = reserve(state, "b")
    after = release_reservation(state, "a", 100)
    assert after.agents["a"].reserved == 0
    assert after.total_reserved == D(3)
    assert release_reservation(after, "a", 1) is after


def test_release_of_zero_returns_the_same_state() -> None:
    """Releasing 0 changes nothing and returns the same object."""
    state = _state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    assert release_reservation(state, "a", 0) is state


@pytest.mark.parametrize(
    ("agent", "amount", "field", "value"),
    [("ghost", 1, "agent_name", "ghost"), ("a", "-1", "amount", "-1"), ("a", None, "amount", None)],
)
def test_release_rejects_bad_input(agent: str, amount: Any, field: str, value: Any) -> None:
    """An unknown agent or a bad amount raises BudgetError and changes nothing."""
    state = _state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    before = _snapshot(state)
    with pytest.raises(BudgetError) as info:
        release_reservation(state, agent, amount)
    _assert_error(info.value, field, value)
    assert _snapshot(state) == before


# ---------------------------------------------------------------- record_cost


def test_record_cost_settles_spends_and_appends() -> None:
    """Recording settles the reservation, adds the spend and appends the record."""
    state = _state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    after = record_cost(state, _rec("j1", expected="2", actual="2.1", at=12.5))
    assert after.agents["a"].reserved == 0 and after.total_reserved == 0
    assert after.agents["a"].spent == D("2.1") and after.total_spent == D("2.1")
    assert list(after.cost_records) == [CostRecord("a", "j1", D(2), D("2.1"), 12.5)]
    assert after.records_by_job["j1"] == after.cost_records[0]
    assert total_remaining(after) == D("7.9")


def test_record_cost_settlement_never_below_zero() -> None:
    """Settling more than is reserved leaves the reservation at zero, not negative."""
    state = _state("10", a={"price": "1"}, b={"price": "1"})
    _, state = reserve(state, "a")
    _, state = reserve(state, "b")
    after = record_cost(state, _rec("j1", expected="5", actual="5"))
    assert after.agents["a"].reserved == 0
    assert after.total_reserved == D(1)


def test_record_cost_int_timestamp_becomes_float() -> None:
    """An int timestamp is stored as a float; a missing one is None."""
    state = _state("10", a={})
    assert record_cost(state, _rec("j1", at=5)).cost_records[0].at == 5.0
    assert isinstance(record_cost(state, _rec("j1", at=5)).cost_records[0].at, float)
    assert record_cost(state, _rec("j1")).cost_records[0].at is None


def test_ten_dimes_spend_exactly_one() -> None:
    """Recording 0.1 ten times spends exactly Decimal('1.0'), agent and total."""
    state = _state("10", a={"price": 0.1})
    for i in range(10):
        state = record_cost(state, _rec(f"j{i}", expected=0.1, actual=0.1))
    assert state.total_spent == D("1.0")
    assert state.agents["a"].spent == D("1.0")
    assert total_remaining(state) == D("9.0")


def test_record_cost_for_unknown_agent_adds_it_unlimited() -> None:
    """Money really paid is never refused: an unknown agent is added, unlimited."""
    state = _state("1")
    after = record_cost(state, _rec("j1", agent="ghost", expected="0.8", actual="3"))
    ghost = after.agents["ghost"]
    assert ghost.limit is None and ghost.spent == D(3)
    assert after.total_spent == D(3)
    assert total_remaining(after) == D(-2)
    # 3 vs 0.8 drifts, so the price is learned from the one actual.
    assert ghost.expected_price == D(3)
    quiet = record_cost(state, _rec("j1", agent="ghost", expected="0.8", actual="0.8"))
    assert quiet.agents["ghost"].expected_price == D("0.8")


def test_identical_record_is_idempotent() -> None:
    """The identical record again returns the very same state, even with a later timestamp."""
    state = _state("10", a={"price": "1"})
    state = record_cost(state, _rec("j1", expected="1", actual="1.0", at=1.0))
    assert record_cost(state, _rec("j1", expected="1.00", actual=1, at=1.0)) is state
    assert record_cost(state, _rec("j1", at=99.0)) is state
    assert len(state.cost_records) == 1


@pytest.mark.parametrize(
    "duplicate",
    [_rec("j1", actual="1.01"), _rec("j1", expected="2"), _rec("j1", agent="b")],
)
def test_conflicting_duplicate_is_an_error(duplicate: dict[str, Any]) -> None:
    """The same job_id with other amounts or another agent raises a conflicting-duplicate error."""
    state = record_cost(_state("10", a={}, b={}), _rec("j1"))
    before = _snapshot(state)
    with pytest.raises(BudgetError, match="conflicting duplicate") as info:
        record_cost(state, duplicate)
    _assert_error(info.value, "job_id", "j1")
    assert _snapshot(state) == before


@pytest.mark.parametrize(
    ("record", "field", "value"),
    [
        ({**_rec("j1"), "extra": 1}, "extra", 1),
        ({k: v for k, v in _rec("j1").items() if k != "actual"}, "actual", MISSING),
        ({k: v for k, v in _rec("j1").items() if k != "job_id"}, "job_id", MISSING),
        (_rec("j1", actual="abc"), "actual", "abc"),
        (_rec("j1", actual=float("-inf")), "actual", float("-inf")),
        (_rec("j1", expected=None), "expected", None),
        (_rec("j1", expected=False), "expected", False),
        (_rec(7), "job_id", 7),  # type: ignore[arg-type]
        (_rec("j1", agent=""), "agent_name", ""),
        (_rec("j1", at="now"), "at", "now"),
        (_rec("j1", at=True), "at", True),
        (_rec("j1", at=float("inf")), "at", float("inf")),
        (["j1", "a", 1, 1], "record", ["j1", "a", 1, 1]),
    ],
)
def test_record_cost_rejects_bad_records(record: Any, field: str, value: Any) -> None:
    """Unknown, missing or badly typed keys raise BudgetError naming field and value."""
    state = _state("10", a={"price": "1"})
    _, state = reserve(state, "a")
    before = _snapshot(state)
    with pytest.raises(BudgetError) as info:
        record_cost(state, record)
    err = info.value
    assert err.field == field and field in str(err)
    if value is MISSING:
        assert "missing required key" in str(err)
    else:
        assert err.value == value and repr(value) in str(err)
    assert _snapshot(state) == before


# ---------------------------------------------------------------- price learning


def test_price_is_learned_beyond_the_threshold() -> None:
    """A miss above 10 % sets the expected price to the mean of the recent actuals."""
    state = _state(None, a={"price": "1"})
    state = record_cost(state, _rec("j1", expected="1", actual="1.1"))  # exactly 10 %: kept
    assert state.agents["a"].expected_price == D(1)
    state = record_cost(state, _rec("j2", expected="1", actual="1.5"))  # 50 %: learned
    assert state.agents["a"].expected_price == D("1.3")  # mean(1.1, 1.5)
    state = record_cost(state, _rec("j3", expected="1.3", actual="1.35"))  # under 10 %: kept
    assert state.agents["a"].expected_price == D("1.3")


def test_price_learning_uses_the_last_window_actuals() -> None:
    """Only the last `window` actual costs (5 by default) feed the learned price."""
    state = _state(None, a={"price": "1"})
    for i, actual in enumerate(["9", "1", "1", "1", "1"]):
        state = record_cost(state, _rec(f"j{i}", expected="1", actual=actual))
    assert state.agents["a"].recent_actuals == (D(9), D(1), D(1), D(1), D(1))
    state = record_cost(state, _rec("j5", expected="1", actual="3"))
    # window is now 1, 1, 1, 1, 3: the 9 has slid out.
    assert state.agents["a"].recent_actuals == (D(1), D(1), D(1), D(1), D(3))
    assert state.agents["a"].expected_price == D("1.4")


def test_zero_estimate_with_a_real_cost_is_learned() -> None:
    """expected 0 and actual > 0 always triggers learning; 0 and 0 does not."""
    state = _state(None, a={})
    same = record_cost(state, _rec("j0", expected=0, actual=0))
    assert same.agents["a"].expected_price == 0
    state = record_cost(same, _rec("j1", expected=0, actual="0.3"))
    assert state.agents["a"].expected_price == D("0.15")  # mean(0, 0.3)


def test_custom_policy_drives_learning() -> None:
    """A policy with a 50 % threshold and window 2 learns only big misses, from 2 actuals."""
    state = new_budget({}, [{"name": "a", "price": 1}], new_price_policy("0.5", 2))
    state = record_cost(state, _rec("j1", expected="1", actual="1.4"))
    assert state.agents["a"].expected_price == D(1)
    state = record_cost(state, _rec("j2", expected="1", actual="2"))
    assert state.agents["a"].expected_price == D("1.7")
    assert state.agents["a"].recent_actuals == (D("1.4"), D(2))


def test_repeating_mean_stays_on_the_money_grid() -> None:
    """A learned price that repeats is rounded to 18 places, so later sums stay exact."""
    state = _state(None, a={"price": "1"})
    for i, actual in enumerate(["1", "1", "2"]):
        state = record_cost(state, _rec(f"j{i}", expected="1", actual=actual))
    price = state.agents["a"].expected_price
    assert price == D("1.333333333333333333")
    _, state = reserve(state, "a")
    assert state.total_reserved == price


# ---------------------------------------------------------------- record_costs


BATCH = [
    _rec("j1", expected="1", actual="1"),
    _rec("j2", agent="b", expected="2", actual="2.5", at=3.0),
    _rec("j1", expected="1", actual="1"),  # identical duplicate inside the batch
    _rec("j3", agent="new", expected="0.5", actual="0.5"),
    _rec("j4", expected="1", actual="2"),
]


def _reserved_state() -> BudgetState:
    state = _state("20", a={"price": "1", "max_total_spend": "3"}, b={"price": "2"})
    for agent in ("a", "a", "b"):
        _, state = reserve(state, agent)
    return state


def test_record_costs_equals_sequential_recording() -> None:
    """A batch gives exactly the state that recording one at a time gives."""
    sequential = _reserved_state()
    for record in BATCH:
        sequential = record_cost(sequential, record)
    batched = record_costs(_reserved_state(), BATCH)
    assert batched == sequential
    assert _snapshot(batched) == _snapshot(sequential)
    assert [r.job_id for r in batched.cost_records] == ["j1", "j2", "j3", "j4"]


def test_record_costs_accepts_a_generator() -> None:
    """records may be any iterable, such as a generator."""
    state = record_costs(_state("10", a={}), (_rec(f"j{i}") for i in range(3)))
    assert state.total_spent == D(3)


def test_record_costs_with_nothing_new_returns_the_same_state() -> None:
    """An empty batch, or one of already-recorded records, returns the same object."""
    state = record_cost(_state("10", a={}), _rec("j1"))
    assert record_costs(state, []) is state
    assert record_costs(state, [_rec("j1"), _rec("j1", at=5.0)]) is state


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (_rec("j9", actual="oops"), "actual", "'oops'"),
        (_rec("j1", actual="7"), "job_id", "conflicting duplicate"),
        ({**_rec("j9"), "tip": 1}, "tip", "unknown key"),
    ],
)
def test_record_costs_is_atomic(bad: dict[str, Any], field: str, message: str) -> None:
    """A bad record fails the whole batch with the sequential error, its index and job id."""
    state = _reserved_state()
    before = _snapshot(state)
    records = [*BATCH[:2], bad, *BATCH[3:]]
    with pytest.raises(BudgetError) as batch_info:
        record_costs(state, records)
    sequential = state
    with pytest.raises(BudgetError) as seq_info:
        for record in records:
            sequential = record_cost(sequential, record)
    err = batch_info.value
    assert type(err) is type(seq_info.value)
    assert err.index == 2 and err.field == field
    assert "[2]" in str(err) and repr(bad["job_id"]) in str(err)
    assert message in str(err) and seq_info.value.message in str(err)
    assert err.__cause__ is not None
    assert _snapshot(state) == before


def test_record_costs_conflict_inside_the_batch() -> None:
    """A job id repeated with other amounts inside one batch is a conflicting duplicate."""
    state = _state("10", a={})
    with pytest.raises(BudgetError, match="conflicting duplicate") as info:
        record_costs(state, [_rec("j1"), _rec("j2"), _rec("j1", actual="2")])
    assert info.value.index == 2
    assert len(state.cost_records) == 0


def test_record_costs_names_index_without_job_id() -> None:
    """A record that is not a mapping still gets its index in the error."""
    state = _state("10", a={})
    with pytest.raises(BudgetError) as info:
        record_costs(state, [_rec("j1"), "j2"])  # type: ignore[list-item]
    assert info.value.index == 1 and info.value.field == "record"
    assert "[1]" in str(info.value)


@pytest.mark.parametrize("records", [_rec("j1"), "j1", 5])
def test_record_costs_rejects_a_non_batch(records: Any) -> None:
    """A lone mapping, a string or a non-iterable is not a batch."""
    with pytest.raises(BudgetError) as info:
        record_costs(_state("10", a={}), records)
    _assert_error(info.value, "records", records)


# ---------------------------------------------------------------- remaining


def test_agent_remaining_is_the_lower_of_limit_and_total() -> None:
    """Remaining is min(agent limit left, total left); unlimited stays unlimited."""
    state = _state("10", capped={"max_total_spend": "3"}, open={})
    assert agent_remaining(state, "capped") == D(3)
    assert agent_remaining(state, "open") == D(10)
    state = record_cost(state, _rec("j1", agent="open", expected="8", actual="8"))
    assert agent_remaining(state, "capped") == D(2)
    unlimited = _state(None, capped={"max_total_spend": "3"}, open={})
    assert agent_remaining(unlimited, "capped") == D(3)
    assert agent_remaining(unlimited, "open") is None
    assert total_remaining(unlimited) is None


def test_agent_remaining_rejects_unknown_agent() -> None:
    """agent_remaining of an agent not in the state raises BudgetError naming it."""
    with pytest.raises(BudgetError) as info:
        agent_remaining(_state("10"), "ghost")
    _assert_error(info.value, "agent_name", "ghost")


def test_state_pickles_round_trip() -> None:
    """A budget state survives pickling unchanged, as it must to cross Ray processes."""
    import pickle

    state = record_costs(_reserved_state(), BATCH)
    _, state = reserve(state, "a", reservation_id="r1")
    assert pickle.loads(pickle.dumps(state)) == state
