"""Hostile arguments to the core: every one a StateError naming the field, the state unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from core import (
    BudgetCalculator,
    BudgetError,
    InvalidTaskError,
    InvalidUpdateError,
    StateError,
    add_task_update,
    add_tasks,
    apply_task_updates,
    drop_cost_records,
    drop_task_updates,
    empty_batch,
    new_budget,
    new_job,
    new_task,
    record_cost,
    record_costs,
    reserve,
    summarize_budget,
    summarize_job,
    to_money,
)
from core.errors import InvalidStateError, describe

HUGE = 10**5000


class _RaisingRepr:
    """A value whose repr raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class _RaisingItems(dict[str, Any]):
    """A dict subclass whose items() raises."""

    def items(self) -> Any:
        raise RuntimeError("items exploded")

    def keys(self) -> Any:
        raise RuntimeError("keys exploded")


def _raising_midway(first: Any) -> Iterator[Any]:
    yield first
    raise RuntimeError("the caller's generator failed")


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def _job() -> Any:
    return add_tasks(new_job("j", "d", 0.0), [{"task_id": "t", "agent_name": "a"}])


def test_a_non_str_extra_key_in_a_task_spec_is_an_invalid_task_error_naming_it() -> None:
    """{..., 7: "x"} is refused as an unknown key 7, not a KeyError('7')."""
    with pytest.raises(InvalidTaskError) as info:
        add_tasks(new_job("j", "d"), [{"task_id": "t", "agent_name": "a", 7: "x"}])
    assert info.value.field == "7"
    assert info.value.value == "x"
    assert "task has unknown key 7" in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: to_money(HUGE, "price"), id="to_money"),
        pytest.param(lambda: new_task(HUGE, "a"), id="new_task"),  # type: ignore[arg-type]
        pytest.param(
            lambda: apply_task_updates(_job(), [{"task_id": "t", "status": "running", "at": HUGE}]),
            id="at",
        ),
        pytest.param(lambda: new_job("j", "d", -HUGE), id="created_at"),
    ],
)
def test_ints_too_long_to_print_do_not_break_the_error_message(call: Any) -> None:
    """An int of 5,000 digits gets a StateError that describes its size, not Python's ValueError."""
    with pytest.raises(StateError) as info:
        call()
    assert "int of about 5,001 digits" in str(info.value)


def test_a_value_whose_repr_raises_does_not_break_the_error_message() -> None:
    """The message builder shows such a value by its type; the StateError still arrives."""
    with pytest.raises(InvalidTaskError) as info:
        new_task(_RaisingRepr(), "a")  # type: ignore[arg-type]
    assert "_RaisingRepr" in str(info.value)


def test_describe_never_raises_and_keeps_messages_short() -> None:
    """describe cuts long reprs and survives deep, cyclic and huge values."""
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    for value in (deep, cyclic, HUGE, -HUGE, "x" * 10_000, _RaisingRepr(), b"\xff" * 999):
        assert len(describe(value)) <= 300


def test_core_add_tasks_with_none_is_an_invalid_task_error() -> None:
    """add_tasks(job, None) is refused as not a batch, not a TypeError."""
    with pytest.raises(InvalidTaskError) as info:
        add_tasks(new_job("j", "d"), None)  # type: ignore[arg-type]
    assert info.value.field == "tasks"


@pytest.mark.parametrize("count", [-1, 2, True, 1.0, None])
def test_dropping_a_count_that_is_not_a_flushed_prefix_is_refused(count: Any) -> None:
    """drop_task_updates(batch, -1) no longer keeps only the last item; bad counts are refused."""
    batch = add_task_update(empty_batch(), "t", "running", at=1.0)
    with pytest.raises(InvalidUpdateError):
        drop_task_updates(batch, count)
    with pytest.raises(InvalidUpdateError):
        drop_cost_records(batch, count if count != 2 else 1)


def test_a_mapping_whose_items_raise_is_refused_with_the_cause_chained() -> None:
    """A dict subclass that cannot be read becomes the caller's StateError, cause chained."""
    spec = _RaisingItems(task_id="t", agent_name="a")
    with pytest.raises(InvalidTaskError) as info:
        add_tasks(new_job("j", "d"), [spec])
    assert isinstance(_root_cause(info.value), RuntimeError)
    with pytest.raises(BudgetError):
        record_cost(new_budget(None, []), _RaisingItems(agent_name="a"))


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: apply_task_updates(None, []), id="apply_task_updates"),  # type: ignore[arg-type]
        pytest.param(lambda: add_tasks("job", []), id="add_tasks"),  # type: ignore[arg-type]
        pytest.param(lambda: summarize_job(new_budget(None, [])), id="summarize_job"),  # type: ignore[arg-type]
        pytest.param(lambda: reserve(new_job("j", "d"), "a"), id="reserve"),  # type: ignore[arg-type]
        pytest.param(lambda: summarize_budget({}), id="summarize_budget"),  # type: ignore[arg-type]
        pytest.param(lambda: drop_task_updates((), 0), id="drop_task_updates"),  # type: ignore[arg-type]
        pytest.param(
            lambda: BudgetCalculator.affordable_jobs(None, "a"),  # type: ignore[arg-type]
            id="affordable_jobs",
        ),
    ],
)
def test_a_reducer_given_something_that_is_not_a_state_raises_invalid_state_error(
    call: Any,
) -> None:
    """Where a state belongs, anything else is an InvalidStateError, not an AttributeError."""
    with pytest.raises(InvalidStateError) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_a_generator_that_raises_midway_is_wrapped_with_its_cause_and_changes_nothing() -> None:
    """Every batch API turns the generator's own exception into a StateError, cause chained."""
    job = _job()
    budget = new_budget(None, [{"name": "a", "price": "1"}])
    record = {"agent_name": "a", "expected": "1", "actual": "1", "job_id": "x"}
    calls = [
        (InvalidUpdateError, lambda: apply_task_updates(job, _raising_midway({"task_id": "t"}))),
        (InvalidTaskError, lambda: add_tasks(job, _raising_midway({"task_id": "u"}))),
        (BudgetError, lambda: record_costs(budget, _raising_midway(record))),
        (BudgetError, lambda: new_budget(None, _raising_midway({"name": "b"}))),
        (
            BudgetError,
            lambda: BudgetCalculator.project_total_cost(_raising_midway("a"), budget),
        ),
    ]
    for error, call in calls:
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value.__cause__, RuntimeError)
    assert job == _job()
    assert summarize_budget(budget)["total_spent"] == 0


EXTREME_RECORDS = [
    pytest.param(
        {"total_budget": None},
        {"expected": "0.000000000000000001", "actual": "100000000"},
        id="dust-estimate",
    ),
    pytest.param(
        {"total_budget": "0.000000001"},
        {"expected": "0.000000000000000001", "actual": "999999999999999999.999999999999999999"},
        id="overrun-of-a-tiny-total",
    ),
    pytest.param(
        {"total_budget": "999999999999999999.999999999999999999"},
        {"expected": "999999999999999999.999999999999999999", "actual": "0.000000000000000001"},
        id="largest-estimate-tiny-actual",
    ),
]


@pytest.mark.parametrize(("budget_config", "amounts"), EXTREME_RECORDS)
def test_extreme_but_valid_amounts_never_make_a_summary_unreadable(
    budget_config: Any, amounts: dict[str, str]
) -> None:
    """Summary, metrics and recommendations are computed for the extremes money accepts."""
    state = new_budget(budget_config, [])
    state = record_cost(state, {"agent_name": "dust", "job_id": "j1", **amounts})
    summary = summarize_budget(state)
    assert summary["cost_accuracy"].startswith("actual costs were ")
    BudgetCalculator.get_cost_accuracy_metrics(state)
    BudgetCalculator.get_budget_recommendations(state, ["dust"])
    decision, _ = reserve(state, "dust")
    assert decision.expected_cost < Decimal(10) ** 18


def test_a_learned_price_stays_below_the_largest_amount() -> None:
    """The mean of amounts near MAX_AMOUNT is not rounded up to MAX_AMOUNT itself."""
    top = "999999999999999999.999999999999999999"
    state = new_budget(None, [])
    for job_id in ("j1", "j2"):
        state = record_cost(
            state, {"agent_name": "a", "job_id": job_id, "expected": "1", "actual": top}
        )
    assert state.agents["a"].expected_price == Decimal(top)
