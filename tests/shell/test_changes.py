"""The ChangeBoard and the actor's waiting calls, without Ray: threads stand in for Ray's groups."""

from __future__ import annotations

import threading
import time

import pytest

from core.ledger import create_store_command, open_ledger, poll_job
from shell import _store_requests as requests
from shell._changes import ChangeBoard
from shell.errors import InvalidArgumentError, StateUnavailable, UnknownJobError
from shell.store_actor import StoreCore

AGENTS = [{"name": "a", "price": 1}]


def _store() -> StoreCore:
    return StoreCore(create_store_command("c0", {"total_budget": 3}, AGENTS))


def _execute(store: StoreCore, request: requests.StoreRequest) -> object:
    return getattr(store, request.method)(*request.args)


def _job(store: StoreCore, job_id: str = "j") -> None:
    _execute(store, requests.create_job("x", job_id))


def test_wait_returns_at_once_when_the_version_already_differs() -> None:
    """A waiter whose version is stale (or None) gets the published summary without waiting."""
    store = _store()
    _job(store)
    expected = poll_job(store.state, "j", None)
    assert store.wait_job("j", None, 10) == expected
    assert store.wait_job("j", 0, 10) == expected


def test_wait_times_out_with_no_summary() -> None:
    """Nothing changes: the waiter gets its own version back and None after the timeout."""
    store = _store()
    _job(store)
    started = time.monotonic()
    assert store.wait_job("j", 1, 0.02) == (1, None)
    assert store.wait_budget(1, 0.02) == (1, None)
    assert time.monotonic() - started >= 0.04


def test_a_write_wakes_every_waiter() -> None:
    """One change wakes all the threads waiting on that job, each with the new summary."""
    store = _store()
    _job(store)
    got: list[int] = []
    threads = [
        threading.Thread(target=lambda: got.append(store.wait_job("j", 1, 5)[0])) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.02)
    _execute(store, requests.add_tasks("j", [{"task_id": "t", "agent_name": "a"}]))
    for thread in threads:
        thread.join(5)
    assert got == [2] * 5


def test_unknown_jobs_raise_and_closed_jobs_answer() -> None:
    """Waiting on a job the store never had raises; a closed job answers with its final summary."""
    store = _store()
    with pytest.raises(UnknownJobError):
        store.wait_job("nope", None, 0.01)
    _job(store)
    waiting: list[object] = []
    thread = threading.Thread(target=lambda: waiting.append(store.wait_job("j", 1, 5)))
    thread.start()
    time.sleep(0.02)
    _execute(store, requests.close_job("j"))
    thread.join(5)
    version, summary = waiting[0]  # type: ignore[misc]
    assert version == 1 and summary is not None and summary["job_id"] == "j"
    assert store.wait_job("j", 1, 5) == (1, summary)  # at once: it will never change


def test_no_op_writes_move_no_version() -> None:
    """A repeated reservation (same id) and a repeated status wake nobody."""
    store = _store()
    _job(store)
    _execute(store, requests.add_tasks("j", [{"task_id": "t", "agent_name": "a"}]))
    _execute(store, requests.update_tasks("j", [{"task_id": "t", "status": "pending", "at": 1.0}]))
    assert store.wait_job("j", 2, 0.01) == (2, None)
    assert store.wait_budget(None, 0.01) == (1, store.budget_summary())
    _execute(store, requests.reserve("a", None, "r"))
    _execute(store, requests.reserve("a", None, "r"))
    assert store.wait_budget(1, 0.01) == (2, store.budget_summary())
    assert store.wait_budget(2, 0.01) == (2, None)


def test_a_board_with_no_state_yet_is_unavailable() -> None:
    """Before the writer published anything (journal unreachable), a wait ends unavailable."""
    board = ChangeBoard()
    with pytest.raises(StateUnavailable):
        board.wait_budget(None, 0.01)
    board.publish(open_ledger(create_store_command("c1", None, AGENTS)))
    assert board.wait_budget(None, 0.01)[0] == 1


def test_call_many_applies_each_request_alone() -> None:
    """One bad request in a call_many fails alone; the others apply; private methods refused."""
    store = _store()
    batch = [
        requests.create_job("x", "j"),
        requests.create_job("x", "j"),
        requests.add_tasks("j", [{"task_id": "t", "agent_name": "a"}]),
    ]
    replies = store.call_many(
        [(r.method, r.args) for r in batch] + [("_ready", ()), ("wait_job", ("j", None, 1.0))]
    )
    assert [ok for ok, _ in replies] == [True, False, True, False, False]
    assert replies[2][1] == 2
    assert isinstance(replies[3][1], InvalidArgumentError)
    assert store.job_version("j") == 2
