"""The ChangeBoard and the actor's waiting calls, without Ray: threads stand in for Ray's groups."""

from __future__ import annotations

import threading
import time

import pytest

from core.budget.reducers import new_budget
from core.jobs.job import new_job
from shell._changes import ChangeBoard
from shell.errors import InvalidArgumentError, UnknownJobError
from shell.store_actor import StoreCore

AGENTS = [{"name": "a", "price": 1}]


def _store() -> StoreCore:
    return StoreCore({"total_budget": 3}, AGENTS)


def test_wait_returns_at_once_when_the_version_already_differs() -> None:
    """A waiter whose version is stale (or None) gets the published job without waiting."""
    board = ChangeBoard(new_budget(None, AGENTS))
    job = new_job("j", "x", 0.0)
    board.publish_job("j", 4, job)
    assert board.wait_job("j", None, 10) == (4, job)
    assert board.wait_job("j", 3, 10) == (4, job)


def test_wait_times_out_with_no_state() -> None:
    """Nothing published: the waiter gets its own version back and None after the timeout."""
    board = ChangeBoard(new_budget(None, AGENTS))
    board.publish_job("j", 1, new_job("j", "x", 0.0))
    started = time.monotonic()
    assert board.wait_job("j", 1, 0.02) == (1, None)
    assert board.wait_budget(1, 0.02) == (1, None)
    assert time.monotonic() - started >= 0.04


def test_publish_wakes_every_waiter() -> None:
    """One publish wakes all the threads waiting on that job."""
    board = ChangeBoard(new_budget(None, AGENTS))
    board.publish_job("j", 1, new_job("j", "x", 0.0))
    got: list[int] = []
    threads = [
        threading.Thread(target=lambda: got.append(board.wait_job("j", 1, 5)[0])) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.02)
    board.publish_job("j", 2, new_job("j", "y", 0.0))
    for thread in threads:
        thread.join(5)
    assert got == [2] * 5


def test_unknown_and_forgotten_jobs_raise() -> None:
    """Waiting on a job the board never had, or that was forgotten meanwhile, raises."""
    board = ChangeBoard(new_budget(None, AGENTS))
    with pytest.raises(UnknownJobError):
        board.wait_job("nope", None, 0.01)
    board.publish_job("j", 1, new_job("j", "x", 0.0))
    timer = threading.Timer(0.02, board.forget_job, ("j",))
    timer.start()
    with pytest.raises(UnknownJobError):
        board.wait_job("j", 1, 5)
    timer.join()


def test_budget_version_moves_only_on_a_new_value() -> None:
    """Publishing the same budget value again (a no-op write) keeps the version."""
    budget = new_budget(None, AGENTS)
    board = ChangeBoard(budget)
    assert board.publish_budget(budget) == 1
    assert board.publish_budget(new_budget({"total_budget": 1}, AGENTS)) == 2
    assert board.budget_version() == 2


def test_actor_publishes_every_write_and_no_op() -> None:
    """StoreCore's waits see each job and budget change; no-op writes move no version."""
    store = _store()
    store.create_job("j", "x", 0.0)
    store.add_tasks("j", [{"task_id": "t", "agent_name": "a"}])
    assert store.wait_job("j", 1, 0.01) == (2, store.job_summary("j"))
    store.update_tasks("j", [{"task_id": "t", "status": "pending", "at": 1.0}])
    assert store.wait_job("j", 2, 0.01) == (2, None)
    assert store.wait_budget(None, 0.01) == (1, store.budget_summary())
    store.reserve("a", None, "r")
    store.reserve("a", None, "r")
    assert store.wait_budget(1, 0.01) == (2, store.budget_summary())
    store.release("a", 1)
    store.record_costs([{"agent_name": "a", "expected": 1, "actual": 1, "job_id": "c"}])
    assert store.wait_budget(3, 0.01) == (4, store.budget_summary())


def test_call_many_applies_each_request_alone() -> None:
    """One bad request in a call_many fails alone; the others apply; private methods refused."""
    store = _store()
    replies = store.call_many(
        [
            ("create_job", ("j", "x", 0.0)),
            ("create_job", ("j", "x", 0.0)),
            ("add_tasks", ("j", [{"task_id": "t", "agent_name": "a"}])),
            ("_job", ("j",)),
            ("wait_job", ("j", None, 1.0)),
        ]
    )
    assert [ok for ok, _ in replies] == [True, False, True, False, False]
    assert replies[2][1] == 2
    assert isinstance(replies[3][1], InvalidArgumentError)
    assert store.job_version("j") == 2
