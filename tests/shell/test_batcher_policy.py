"""StateBatcher's flush policy (max_items, max_delay, close, with) and its flush/clear races."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from shell_helpers import put_job

from core.errors import StateError
from properties.fakes import FakeClock
from shell import (
    InvalidArgumentError,
    RefStore,
    StateBatcher,
    StateUnavailable,
    ray_op_counts,
    reset_ray_op_counts,
)
from shell.aio import AsyncStateBatcher

pytestmark = pytest.mark.usefixtures("fresh_shell")


class FakeBackend:
    """A thread-safe stand-in for a RefStore/StateStore: records what each call delivered."""

    def __init__(self, pause: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.updates: list[str] = []
        self.records: list[str] = []
        self.calls = 0
        self.pause = pause
        self.fail: BaseException | None = None

    def update_tasks(self, job_id: str, updates: list[Any]) -> int:
        time.sleep(self.pause * random.random())
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.updates.extend(u.task_id for u in updates)
            self.calls += 1
            return self.calls

    def record_costs(self, records: list[Any]) -> None:
        time.sleep(self.pause * random.random())
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.records.extend(r["job_id"] for r in records)
            self.calls += 1


def test_flush_to_a_ref_with_a_job_id_is_an_argument_error_and_keeps_the_queue() -> None:
    """Issue 15.5: flush_task_updates(job_ref, job_id=...) names job_id; nothing moves."""
    ref = put_job(1)
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")
    reset_ray_op_counts()
    with pytest.raises(InvalidArgumentError) as info:
        batcher.flush_task_updates(ref, job_id="J")
    assert info.value.field == "job_id" and info.value.value == "J"
    assert [u.task_id for u in batcher.pending().task_updates] == ["t0"]
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_clear_racing_flushes_never_reports_an_item_twice() -> None:
    """Issue 15.10: with 8 adders, 2 flushers and clear() every few ms, each item ends once."""
    backend = FakeBackend(pause=0.002)
    batcher = StateBatcher()
    cleared_updates: list[str] = []
    cleared_records: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def adder(n: int) -> None:
        for i in range(400):
            batcher.add_task_update(f"u{n}-{i}", "running", at=1.0)
            batcher.add_cost_record("a", 1, 1, f"c{n}-{i}", at=1.0)
            if i % 20 == 0:
                time.sleep(0.001)  # spread the adds over the clears and flushes

    def flusher() -> None:
        try:
            while not stop.is_set():
                batcher.flush_task_updates(backend, "j")
                batcher.flush_budget_updates(backend)
        except BaseException as err:
            errors.append(err)

    def clearer() -> None:
        while not stop.is_set():
            dropped = batcher.clear()
            cleared_updates.extend(u.task_id for u in dropped.task_updates)
            cleared_records.extend(r["job_id"] for r in dropped.cost_records)
            time.sleep(0.003)

    adders = [threading.Thread(target=adder, args=(n,)) for n in range(8)]
    others = [threading.Thread(target=flusher) for _ in range(2)]
    others.append(threading.Thread(target=clearer))
    for thread in [*others, *adders]:
        thread.start()
    for thread in adders:
        thread.join()
    stop.set()
    for thread in others:
        thread.join()
    rest = batcher.clear()
    assert errors == []
    for delivered, cleared, left, prefix in (
        (backend.updates, cleared_updates, [u.task_id for u in rest.task_updates], "u"),
        (backend.records, cleared_records, [r["job_id"] for r in rest.cost_records], "c"),
    ):
        everything = delivered + cleared + left
        assert len(everything) == len(set(everything)) == 8 * 400
        assert set(everything) == {f"{prefix}{n}-{i}" for n in range(8) for i in range(400)}
        assert cleared, "the race was not exercised: clear() never dropped anything"


def test_max_items_flushes_on_the_add_that_reaches_it() -> None:
    """With max_items=3 the third item flushes both kinds in one call each."""
    backend = FakeBackend()
    batcher = StateBatcher(backend=backend, job_id="j", max_items=3)
    batcher.add_task_update("t0", "running")
    batcher.add_cost_record("a", 1, 1, "c0")
    assert backend.calls == 0 and len(batcher) == 2
    batcher.add_task_update("t1", "running")
    assert (backend.updates, backend.records, len(batcher)) == (["t0", "t1"], ["c0"], 0)


def test_max_delay_flushes_when_the_oldest_item_has_waited_long_enough() -> None:
    """A fake timer: nothing is due before max_delay; flush_if_due flushes at it."""
    timer = FakeClock(100.0)
    backend = FakeBackend()
    batcher = StateBatcher(backend=backend, job_id="j", max_delay=2.0, timer=timer)
    assert batcher.flush_if_due() is False
    batcher.add_task_update("t0", "running")
    timer.now += 1.5
    batcher.add_task_update("t1", "running")
    assert batcher.flush_if_due() is False and backend.calls == 0
    timer.now += 0.5
    assert batcher.flush_if_due() is True
    assert backend.updates == ["t0", "t1"] and len(batcher) == 0
    timer.now += 10.0
    batcher.add_task_update("t2", "running")  # the clock restarts with the next item
    assert backend.calls == 1 and len(batcher) == 1


def test_close_and_with_block_flush_and_then_refuse_adds() -> None:
    """Leaving a with block flushes (even on an error); a closed batcher refuses adds."""
    backend = FakeBackend()
    with pytest.raises(RuntimeError), StateBatcher(backend=backend, job_id="j") as batcher:
        batcher.add_task_update("t0", "running")
        batcher.add_cost_record("a", 1, 1, "c0")
        raise RuntimeError("the driver failed")
    assert (backend.updates, backend.records) == (["t0"], ["c0"])
    with pytest.raises(InvalidArgumentError) as info:
        batcher.add_task_update("t1", "running")
    assert info.value.field == "batcher" and len(batcher) == 0
    batcher.close()


def test_failed_policy_flush_raises_from_add_and_keeps_everything_queued() -> None:
    """A backend that fails: the add raises its error, the item and the earlier ones stay."""
    backend = FakeBackend()
    backend.fail = StateUnavailable("gone", field="store", value="s")
    batcher = StateBatcher(backend=backend, job_id="j", max_items=2)
    batcher.add_task_update("t0", "running")
    with pytest.raises(StateUnavailable):
        batcher.add_task_update("t1", "running")
    assert [u.task_id for u in batcher.pending().task_updates] == ["t0", "t1"]
    with pytest.raises(StateUnavailable):
        batcher.close()
    backend.fail = None
    batcher.close()
    assert backend.updates == ["t0", "t1"] and len(batcher) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_items": 3}, "backend"),
        ({"max_delay": 1.0}, "backend"),
        ({"backend": object()}, "backend"),
        ({"backend": FakeBackend(), "max_items": 0}, "max_items"),
        ({"backend": FakeBackend(), "max_items": True}, "max_items"),
        ({"backend": FakeBackend(), "max_delay": float("nan")}, "max_delay"),
        ({"backend": FakeBackend(), "job_id": ""}, "job_id"),
        ({"timer": 5}, "timer"),
        ({"clock": "now"}, "clock"),
    ],
)
def test_bad_policy_arguments_are_refused(kwargs: dict[str, Any], field: str) -> None:
    """Every policy argument is checked when the batcher is made, alike by the async twin."""
    with pytest.raises(InvalidArgumentError) as info:
        StateBatcher(**kwargs)
    assert info.value.field == field
    with pytest.raises(InvalidArgumentError) as twin:
        AsyncStateBatcher(**kwargs)
    assert (twin.value.field, str(twin.value)) == (field, str(info.value))


def test_flush_without_a_job_id_or_a_backend_is_refused() -> None:
    """flush() needs a backend, and a job id when task updates are queued."""
    with pytest.raises(InvalidArgumentError) as info:
        StateBatcher().flush()
    assert info.value.field == "backend"
    batcher = StateBatcher(backend=FakeBackend())
    batcher.add_cost_record("a", 1, 1, "c0")
    batcher.flush()
    batcher.add_task_update("t0", "running")
    with pytest.raises(InvalidArgumentError) as info:
        batcher.flush()
    assert info.value.field == "job_id" and len(batcher) == 1


def test_policy_flushes_into_a_refstore() -> None:
    """Bound to a RefStore, a with block delivers its updates and records in order."""
    refs = RefStore.create(None, [{"name": "a", "price": 1}])
    job_id = refs.create_job("audience")
    refs.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(5)])
    with StateBatcher(clock=lambda: 7.0, backend=refs, job_id=job_id, max_items=4) as batcher:
        for i in range(5):
            batcher.add_task_update(f"t{i}", "completed", result=i)
        batcher.add_cost_record("a", 1, "0.5", "t0")
    summary = refs.job_summary(job_id)
    assert summary["completed_tasks"] == 5 and summary["completed_at"] == 7.0
    assert refs.budget_summary()["total_spent"] == refs.budget_state().total_spent
    assert str(refs.budget_state().total_spent) == "0.5"


def test_errors_are_state_errors() -> None:
    """Every error the policy raises on bad input is a StateError."""
    with pytest.raises(StateError):
        StateBatcher(max_items=1)
