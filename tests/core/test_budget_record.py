"""Tests for core.budget.reducers: record_cost, record_costs and price learning."""

from __future__ import annotations

from typing import Any

import pytest
from budget_helpers import (
    BATCH,
    MISSING,
    D,
    assert_error,
    make_state,
    rec,
    reserved_state,
    snapshot,
)

from core.budget.reducers import (
    CostRecord,
    new_budget,
    new_price_policy,
    parse_cost_record,
    record_cost,
    record_costs,
    reserve,
    total_remaining,
)
from core.errors import BudgetError

# ---------------------------------------------------------------- record_cost


def test_record_cost_settles_spends_and_appends() -> None:
    """Recording settles the reservation, adds the spend and appends the record."""
    state = make_state("10", a={"price": "2"})
    _, state = reserve(state, "a")
    after = record_cost(state, rec("j1", expected="2", actual="2.1", at=12.5))
    assert after.agents["a"].reserved == 0 and after.total_reserved == 0
    assert after.agents["a"].spent == D("2.1") and after.total_spent == D("2.1")
    assert list(after.cost_records) == [CostRecord("a", "j1", D(2), D("2.1"), 12.5)]
    assert after.records_by_job["j1"] == after.cost_records[0]
    assert total_remaining(after) == D("7.9")


def test_record_cost_settlement_never_below_zero() -> None:
    """Settling more than is reserved leaves the reservation at zero, not negative."""
    state = make_state("10", a={"price": "1"}, b={"price": "1"})
    _, state = reserve(state, "a")
    _, state = reserve(state, "b")
    after = record_cost(state, rec("j1", expected="5", actual="5"))
    assert after.agents["a"].reserved == 0
    assert after.total_reserved == D(1)


def test_record_cost_int_timestamp_becomes_float() -> None:
    """An int timestamp is stored as a float; a missing one is None."""
    state = make_state("10", a={})
    assert record_cost(state, rec("j1", at=5)).cost_records[0].at == 5.0
    assert isinstance(record_cost(state, rec("j1", at=5)).cost_records[0].at, float)
    assert record_cost(state, rec("j1")).cost_records[0].at is None


def test_ten_dimes_spend_exactly_one() -> None:
    """Recording 0.1 ten times spends exactly Decimal('1.0'), agent and total."""
    state = make_state("10", a={"price": 0.1})
    for i in range(10):
        state = record_cost(state, rec(f"j{i}", expected=0.1, actual=0.1))
    assert state.total_spent == D("1.0")
    assert state.agents["a"].spent == D("1.0")
    assert total_remaining(state) == D("9.0")


def test_record_cost_for_unknown_agent_adds_it_unlimited() -> None:
    """Money really paid is never refused: an unknown agent is added, unlimited."""
    state = make_state("1")
    after = record_cost(state, rec("j1", agent="ghost", expected="0.8", actual="3"))
    ghost = after.agents["ghost"]
    assert ghost.limit is None and ghost.spent == D(3)
    assert after.total_spent == D(3)
    assert total_remaining(after) == D(-2)
    # 3 vs 0.8 drifts, so the price is learned from the one actual.
    assert ghost.expected_price == D(3)
    quiet = record_cost(state, rec("j1", agent="ghost", expected="0.8", actual="0.8"))
    assert quiet.agents["ghost"].expected_price == D("0.8")


def test_identical_record_is_idempotent() -> None:
    """The identical record again returns the very same state, even with a later timestamp."""
    state = make_state("10", a={"price": "1"})
    state = record_cost(state, rec("j1", expected="1", actual="1.0", at=1.0))
    assert record_cost(state, rec("j1", expected="1.00", actual=1, at=1.0)) is state
    assert record_cost(state, rec("j1", at=99.0)) is state
    assert len(state.cost_records) == 1


@pytest.mark.parametrize(
    "duplicate",
    [rec("j1", actual="1.01"), rec("j1", expected="2"), rec("j1", agent="b")],
)
def test_conflicting_duplicate_is_an_error(duplicate: dict[str, Any]) -> None:
    """The same job_id with other amounts or another agent raises a conflicting-duplicate error."""
    state = record_cost(make_state("10", a={}, b={}), rec("j1"))
    before = snapshot(state)
    with pytest.raises(BudgetError, match="conflicting duplicate") as info:
        record_cost(state, duplicate)
    assert_error(info.value, "job_id", "j1")
    assert snapshot(state) == before


@pytest.mark.parametrize(
    ("record", "field", "value"),
    [
        ({**rec("j1"), "extra": 1}, "extra", 1),
        ({k: v for k, v in rec("j1").items() if k != "actual"}, "actual", MISSING),
        ({k: v for k, v in rec("j1").items() if k != "job_id"}, "job_id", MISSING),
        (rec("j1", actual="abc"), "actual", "abc"),
        (rec("j1", actual=float("-inf")), "actual", float("-inf")),
        (rec("j1", expected=None), "expected", None),
        (rec("j1", expected=False), "expected", False),
        (rec(7), "job_id", 7),  # type: ignore[arg-type]
        (rec("j1", agent=""), "agent_name", ""),
        (rec("j1", at="now"), "at", "now"),
        (rec("j1", at=True), "at", True),
        (rec("j1", at=float("inf")), "at", float("inf")),
        (["j1", "a", 1, 1], "record", ["j1", "a", 1, 1]),
    ],
)
def test_record_cost_rejects_bad_records(record: Any, field: str, value: Any) -> None:
    """Unknown, missing or badly typed keys raise BudgetError naming field and value."""
    state = make_state("10", a={"price": "1"})
    _, state = reserve(state, "a")
    before = snapshot(state)
    with pytest.raises(BudgetError) as info:
        record_cost(state, record)
    err = info.value
    assert err.field == field and field in str(err)
    if value is MISSING:
        assert "missing required key" in str(err)
    else:
        assert err.value == value and repr(value) in str(err)
    assert snapshot(state) == before


def test_parse_cost_record_is_exact_and_strict() -> None:
    """parse_cost_record makes amounts exact and raises the error record_cost would raise."""
    assert parse_cost_record(rec("j1", expected=0.1, actual="0.20", at=3)) == CostRecord(
        "a", "j1", D("0.1"), D("0.20"), 3.0
    )
    with pytest.raises(BudgetError) as info:
        parse_cost_record(rec("j1", actual="abc"))
    assert_error(info.value, "actual", "abc")


# ---------------------------------------------------------------- price learning


def test_price_is_learned_beyond_the_threshold() -> None:
    """A miss above 10 % sets the expected price to the mean of the recent actuals."""
    state = make_state(None, a={"price": "1"})
    state = record_cost(state, rec("j1", expected="1", actual="1.1"))  # exactly 10 %: kept
    assert state.agents["a"].expected_price == D(1)
    state = record_cost(state, rec("j2", expected="1", actual="1.5"))  # 50 %: learned
    assert state.agents["a"].expected_price == D("1.3")  # mean(1.1, 1.5)
    state = record_cost(state, rec("j3", expected="1.3", actual="1.35"))  # under 10 %: kept
    assert state.agents["a"].expected_price == D("1.3")


def test_price_learning_uses_the_last_window_actuals() -> None:
    """Only the last `window` actual costs (5 by default) feed the learned price."""
    state = make_state(None, a={"price": "1"})
    for i, actual in enumerate(["9", "1", "1", "1", "1"]):
        state = record_cost(state, rec(f"j{i}", expected="1", actual=actual))
    assert state.agents["a"].recent_actuals == (D(9), D(1), D(1), D(1), D(1))
    state = record_cost(state, rec("j5", expected="1", actual="3"))
    # window is now 1, 1, 1, 1, 3: the 9 has slid out.
    assert state.agents["a"].recent_actuals == (D(1), D(1), D(1), D(1), D(3))
    assert state.agents["a"].expected_price == D("1.4")


def test_zero_estimate_with_a_real_cost_is_learned() -> None:
    """expected 0 and actual > 0 always triggers learning; 0 and 0 does not."""
    state = make_state(None, a={})
    same = record_cost(state, rec("j0", expected=0, actual=0))
    assert same.agents["a"].expected_price == 0
    state = record_cost(same, rec("j1", expected=0, actual="0.3"))
    assert state.agents["a"].expected_price == D("0.15")  # mean(0, 0.3)


def test_custom_policy_drives_learning() -> None:
    """A policy with a 50 % threshold and window 2 learns only big misses, from 2 actuals."""
    state = new_budget({}, [{"name": "a", "price": 1}], new_price_policy("0.5", 2))
    state = record_cost(state, rec("j1", expected="1", actual="1.4"))
    assert state.agents["a"].expected_price == D(1)
    state = record_cost(state, rec("j2", expected="1", actual="2"))
    assert state.agents["a"].expected_price == D("1.7")
    assert state.agents["a"].recent_actuals == (D("1.4"), D(2))


def test_repeating_mean_stays_on_the_money_grid() -> None:
    """A learned price that repeats is rounded to 18 places, so later sums stay exact."""
    state = make_state(None, a={"price": "1"})
    for i, actual in enumerate(["1", "1", "2"]):
        state = record_cost(state, rec(f"j{i}", expected="1", actual=actual))
    price = state.agents["a"].expected_price
    assert price == D("1.333333333333333333")
    _, state = reserve(state, "a")
    assert state.total_reserved == price


def test_record_costs_equals_sequential_recording() -> None:
    """A batch gives exactly the state that recording one at a time gives."""
    sequential = reserved_state()
    for record in BATCH:
        sequential = record_cost(sequential, record)
    batched = record_costs(reserved_state(), BATCH)
    assert batched == sequential
    assert snapshot(batched) == snapshot(sequential)
    assert [r.job_id for r in batched.cost_records] == ["j1", "j2", "j3", "j4"]


def test_record_costs_accepts_a_generator() -> None:
    """records may be any iterable, such as a generator."""
    state = record_costs(make_state("10", a={}), (rec(f"j{i}") for i in range(3)))
    assert state.total_spent == D(3)


def test_record_costs_with_nothing_new_returns_the_same_state() -> None:
    """An empty batch, or one of already-recorded records, returns the same object."""
    state = record_cost(make_state("10", a={}), rec("j1"))
    assert record_costs(state, []) is state
    assert record_costs(state, [rec("j1"), rec("j1", at=5.0)]) is state


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (rec("j9", actual="oops"), "actual", "'oops'"),
        (rec("j1", actual="7"), "job_id", "conflicting duplicate"),
        ({**rec("j9"), "tip": 1}, "tip", "unknown key"),
    ],
)
def test_record_costs_is_atomic(bad: dict[str, Any], field: str, message: str) -> None:
    """A bad record fails the whole batch with the sequential error, its index and job id."""
    state = reserved_state()
    before = snapshot(state)
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
    assert str(err).startswith(f"record[2] (job_id={bad['job_id']!r}): ")
    assert message in str(err) and seq_info.value.message in str(err)
    assert err.__cause__ is not None
    assert snapshot(state) == before


def test_record_costs_conflict_inside_the_batch() -> None:
    """A job id repeated with other amounts inside one batch is a conflicting duplicate."""
    state = make_state("10", a={})
    with pytest.raises(BudgetError, match="conflicting duplicate") as info:
        record_costs(state, [rec("j1"), rec("j2"), rec("j1", actual="2")])
    assert info.value.index == 2
    assert len(state.cost_records) == 0


def test_record_costs_names_index_without_job_id() -> None:
    """A record that is not a mapping still gets its index in the error."""
    state = make_state("10", a={})
    with pytest.raises(BudgetError) as info:
        record_costs(state, [rec("j1"), "j2"])  # type: ignore[list-item]
    assert info.value.index == 1 and info.value.field == "record"
    assert str(info.value).startswith("record[1]: ")


@pytest.mark.parametrize("records", [rec("j1"), "j1", 5])
def test_record_costs_rejects_a_non_batch(records: Any) -> None:
    """A lone mapping, a string or a non-iterable is not a batch."""
    with pytest.raises(BudgetError) as info:
        record_costs(make_state("10", a={}), records)
    assert_error(info.value, "records", records)
