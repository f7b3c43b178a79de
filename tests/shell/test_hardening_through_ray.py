"""Issue 15 through Ray: task data frozen before the put, bad data refused before any Ray call."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from shell_helpers import put_job

from core.errors import InvalidTaskError, InvalidUpdateError
from core.jobs.summary import job_results
from shell import StateManager, StateStore, ray_op_counts


def _cyclic() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def test_a_mutable_result_changed_after_the_write_changes_neither_cache_nor_ray(
    fresh_shell: None, ray_session: Any
) -> None:
    """A bytearray result mutated by the caller later: the cache and ray.get agree on b"abc"."""
    ref = put_job(1)
    payload = bytearray(b"abc")
    new_ref = StateManager.batch_update_tasks(
        ref, [{"task_id": "t0", "status": "completed", "result": {"raw": payload}}]
    )
    payload[:] = b"zzz"
    from_cache = StateManager.get_results(new_ref)[0]["result"]
    from_ray = job_results(ray_session.get(new_ref))[0]["result"]
    assert from_cache == from_ray == {"raw": b"abc"}


@pytest.mark.parametrize(
    "bad", [_cyclic(), threading.Lock(), (x for x in ()), {"deep": [[[[]]]] * 2, "k": object()}]
)
def test_the_managers_refuse_unholdable_data_before_any_ray_call(
    fresh_shell: None, bad: Any
) -> None:
    """A cyclic, lock, generator or object result is an InvalidUpdateError; nothing is put."""
    ref = put_job(1)
    before = ray_op_counts()
    with pytest.raises(InvalidUpdateError) as info:
        StateManager.batch_update_tasks(
            ref, [{"task_id": "t0", "status": "completed", "result": bad}]
        )
    assert info.value.field == "result"
    with pytest.raises(InvalidTaskError):
        StateManager.add_agent_task(ref, {"task_id": "t9", "agent_name": "a", "input_data": bad})
    with pytest.raises(InvalidTaskError):
        StateManager.add_agent_task(ref, {"task_id": "t9", "agent_name": "a", 7: "x"})
    assert ray_op_counts() == before


def test_the_store_refuses_unholdable_data_and_reads_extreme_amounts(ray_session: Any) -> None:
    """The store refuses bad data before sending it and keeps budget_summary readable."""
    store = StateStore.create(None, [{"name": "dust", "price": "0.000000000000000001"}])
    try:
        store.create_job("d", "j")
        store.add_tasks("j", [{"task_id": "t", "agent_name": "a"}])
        version, _ = store.poll_job("j")
        with pytest.raises(InvalidUpdateError):
            store.update_tasks("j", [{"task_id": "t", "status": "completed", "result": _cyclic()}])
        with pytest.raises(InvalidTaskError) as info:
            store.add_tasks("j", [{"task_id": "u", "agent_name": "a", 7: "x"}])
        assert info.value.field == "7"
        assert store.poll_job("j")[0] == version
        store.record_costs(
            [
                {
                    "agent_name": "dust",
                    "expected": "0.000000000000000001",
                    "actual": "100000000",
                    "job_id": "j1",
                }
            ]
        )
        summary = store.budget_summary()
        assert summary["cost_accuracy"].startswith("actual costs were +")
        assert store.reserve("dust").can_afford is True
    finally:
        store.shutdown()
