"""StateStore with a real local Ray: concurrent writers, typed errors, lifecycle and batching."""

from __future__ import annotations

import json
import pickle
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from core.errors import (
    BudgetError,
    DuplicateTaskError,
    InvalidStateError,
    InvalidTransitionError,
    InvalidUpdateError,
    StateError,
    UnknownTaskError,
)
from core.jobs.job import JobExecution
from core.jobs.status import TaskStatus
from core.ledger import (
    add_tasks_command,
    create_job_command,
    create_store_command,
    reserve_command,
    update_tasks_command,
)
from shell import _store_requests as requests
from shell.errors import (
    DuplicateJobError,
    InvalidArgumentError,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
)
from shell.ray_ops import ray_get
from shell.store import (
    StateStore,
)
from shell.store_actor import StoreCore

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = [{"name": "a", "price": 1}]


@pytest.fixture
def store() -> Iterator[StateStore]:
    """A fresh unnamed store whose budget affords 50 jobs of agent ``a`` at price 1."""
    handle = StateStore.create({"total_budget": 50}, AGENTS)
    yield handle
    handle.shutdown()


def _job_with_tasks(store: StateStore, n: int, job_id: str | None = None) -> str:
    job_id = store.create_job("audience", job_id=job_id)
    store.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)])
    return job_id


def _unique_name() -> str:
    return f"store-{uuid.uuid4().hex[:8]}"


def test_concurrent_writers_lose_nothing_and_never_overspend(
    ray_session: Any, store: StateStore
) -> None:
    """8 Ray tasks x (50 single updates + 10 reservations): all 400 kept, exactly 50 granted."""
    job_id = _job_with_tasks(store, 400)

    @ray_session.remote(num_cpus=0.25)
    def writer(handle: StateStore, worker: int) -> int:
        granted = 0
        for k in range(50):
            task_id = f"t{worker * 50 + k}"
            handle.update_tasks(job_id, [{"task_id": task_id, "status": "completed"}])
            if k % 5 == 0:
                decision = handle.reserve("a", reservation_id=f"w{worker}-r{k}")
                granted += decision.can_afford
        return granted

    granted = ray_session.get([writer.remote(store, w) for w in range(8)])

    summary = store.job_summary(job_id)
    assert summary["completed_tasks"] == 400
    assert summary["pending_tasks"] == 0
    assert sum(granted) == 50
    budget = store.budget_summary()
    assert budget["total_reserved"] == Decimal(50)
    assert budget["total_remaining"] == Decimal(0)


def test_retried_reservation_reserves_once(ray_session: Any, store: StateStore) -> None:
    """A reservation retried with the same id, here and from a Ray task, reserves once."""
    first = store.reserve("a", reservation_id="job-1")
    again = store.reserve("a", reservation_id="job-1")

    @ray_session.remote(num_cpus=0.25)
    def retry(handle: StateStore) -> Any:
        return handle.reserve("a", reservation_id="job-1")

    remote_again = ray_session.get(retry.remote(store))
    assert first.can_afford and first.expected_cost == Decimal(1)
    assert again == first == remote_again
    assert store.budget_summary()["total_reserved"] == Decimal(1)


def test_reservation_id_reused_for_another_agent_is_a_budget_error(store: StateStore) -> None:
    """An id granted to one agent and retried for another raises BudgetError from the actor."""
    store.reserve("a", reservation_id="r")
    with pytest.raises(BudgetError) as info:
        store.reserve("b", {"price": 1}, reservation_id="r")
    assert type(info.value) is BudgetError
    assert info.value.field == "reservation_id"
    assert store.budget_summary()["total_reserved"] == Decimal(1)


def test_invalid_transition_raises_core_error_and_changes_nothing(store: StateStore) -> None:
    """A batch with a forbidden transition raises InvalidTransitionError itself; state unchanged."""
    job_id = _job_with_tasks(store, 2)
    version = store.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}])
    before = store.job_state(job_id)

    with pytest.raises(InvalidTransitionError) as info:
        store.update_tasks(
            job_id,
            [{"task_id": "t1", "status": "running"}, {"task_id": "t0", "status": "running"}],
        )
    err = info.value
    assert type(err) is InvalidTransitionError
    assert err.index == 1
    assert "update[1] (task_id='t0')" in str(err)
    assert "cannot move from 'completed' to 'running'" in str(err)
    after = store.job_state(job_id)
    assert after == before
    assert after.tasks["t1"].status is TaskStatus.PENDING
    assert store.poll_job(job_id, version) == (version, None)


def test_unknown_task_raises_unknown_task_error(store: StateStore) -> None:
    """An update naming a task the job lacks raises UnknownTaskError at the caller."""
    job_id = _job_with_tasks(store, 1)
    with pytest.raises(UnknownTaskError, match="'nope'") as info:
        store.update_tasks(job_id, [{"task_id": "nope", "status": "running"}])
    assert type(info.value) is UnknownTaskError


def test_duplicate_task_raises_and_adds_nothing(store: StateStore) -> None:
    """Adding a task id the job holds raises DuplicateTaskError and adds none of the batch."""
    job_id = _job_with_tasks(store, 1)
    with pytest.raises(DuplicateTaskError):
        store.add_tasks(
            job_id, [{"task_id": "new", "agent_name": "a"}, {"task_id": "t0", "agent_name": "a"}]
        )
    assert store.job_summary(job_id)["total_tasks"] == 1


def test_unknown_job_error_names_the_job(store: StateStore) -> None:
    """Every job method given an unknown job id raises UnknownJobError naming it."""
    calls = [
        lambda: store.job_summary("ghost"),
        lambda: store.job_state("ghost"),
        lambda: store.poll_job("ghost", 0),
        lambda: store.add_tasks("ghost", [{"task_id": "t", "agent_name": "a"}]),
        lambda: store.update_tasks("ghost", [{"task_id": "t", "status": "running"}]),
    ]
    for call in calls:
        with pytest.raises(UnknownJobError, match="'ghost'") as info:
            call()
        assert isinstance(info.value, StateError)
        assert (info.value.field, info.value.value) == ("job_id", "ghost")


def test_create_job_with_existing_id_raises_and_keeps_the_job(store: StateStore) -> None:
    """create_job with an id the store holds raises DuplicateJobError; the job is untouched."""
    job_id = _job_with_tasks(store, 3, job_id="job-1")
    with pytest.raises(DuplicateJobError, match="'job-1'"):
        store.create_job("another", job_id="job-1")
    summary = store.job_summary(job_id)
    assert (summary["description"], summary["total_tasks"]) == ("audience", 3)


def test_create_job_without_id_returns_fresh_ids(store: StateStore) -> None:
    """create_job without an id returns a new id each time, stamped with the caller's clock."""
    before = time.time()
    first, second = store.create_job("x"), store.create_job("y")
    assert first != second
    created_at = store.job_summary(first)["created_at"]
    assert before <= created_at <= time.time()


def test_malformed_input_is_rejected_before_any_remote_call(store: StateStore) -> None:
    """Bad arguments raise typed errors naming field and value; the job's version is unchanged."""
    job_id = _job_with_tasks(store, 2)
    version, _ = store.poll_job(job_id)
    with pytest.raises(InvalidUpdateError) as info:
        store.update_tasks(
            job_id, [{"task_id": "t0", "status": "running"}, {"task_id": "t1", "status": "done"}]
        )
    assert (info.value.index, info.value.field, info.value.value) == (1, "status", "done")
    for bad_id in (None, 7, ""):
        with pytest.raises(InvalidArgumentError) as arg_info:
            store.job_summary(bad_id)  # type: ignore[arg-type]
        assert (arg_info.value.field, arg_info.value.value) == ("job_id", bad_id)
    with pytest.raises(InvalidArgumentError, match="updates"):
        store.update_tasks(job_id, {"task_id": "t0", "status": "running"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="since_version"):
        store.poll_job(job_id, "1")  # type: ignore[arg-type]
    with pytest.raises(BudgetError, match="amount"):
        store.release("a", -1)
    with pytest.raises(InvalidArgumentError) as rec_info:
        store.record_costs([{"agent_name": "a", "expected": 1, "actual": 1, "job_id": "j"}, 3])
    assert (rec_info.value.field, rec_info.value.index) == ("records", 1)
    assert store.budget_summary()["total_spent"] == Decimal(0)
    assert store.poll_job(job_id, version) == (version, None)


def test_update_tasks_stamps_missing_at_in_the_caller(store: StateStore) -> None:
    """Updates without ``at`` get the caller's time.time(); an explicit ``at`` is kept."""
    job_id = _job_with_tasks(store, 2)
    before = time.time()
    store.update_tasks(
        job_id,
        [{"task_id": "t0", "status": "running"}, {"task_id": "t1", "status": "running", "at": 5.0}],
    )
    after = time.time()
    tasks = store.job_state(job_id).tasks
    assert before <= tasks["t0"].started_at <= after
    assert tasks["t1"].started_at == 5.0


def test_poll_job_moves_no_data_while_unchanged(store: StateStore) -> None:
    """poll_job returns None at the current version; no-op writes do not bump it."""
    job_id = store.create_job("d")
    version, summary = store.poll_job(job_id, 0)
    assert version == 1 and summary is not None and summary["total_tasks"] == 0
    assert store.poll_job(job_id, version) == (1, None)
    version = store.add_tasks(job_id, [{"task_id": "t0", "agent_name": "a"}])
    assert version == 2
    # Repeating the current status changes nothing, so pollers must not be woken.
    assert store.update_tasks(job_id, [{"task_id": "t0", "status": "pending"}]) == 2
    assert store.poll_job(job_id, 2) == (2, None)
    assert store.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}]) == 3
    new_version, new_summary = store.poll_job(job_id, 2)
    assert new_version == 3 and new_summary is not None and new_summary["is_complete"]


def test_record_costs_is_idempotent_and_release_gives_back(store: StateStore) -> None:
    """Recording the same cost twice spends once; release returns reserved money."""
    store.reserve("a", reservation_id="r1")
    store.reserve("a", reservation_id="r2")
    record = {"agent_name": "a", "expected": 1, "actual": "1.05", "job_id": "j1"}
    store.record_costs([record])
    store.record_costs([record])
    store.release("a", 1)
    summary = store.budget_summary()
    assert summary["total_spent"] == Decimal("1.05")
    assert summary["total_reserved"] == Decimal(0)
    assert len(store.budget_state().cost_records) == 1
    with pytest.raises(BudgetError, match="conflicting duplicate"):
        store.record_costs([{**record, "actual": 3}])
    assert store.budget_summary()["total_spent"] == Decimal("1.05")


def test_bad_config_raises_before_any_actor_starts(ray_session: Any) -> None:
    """An invalid config raises BudgetError at create and no actor is registered."""
    name = _unique_name()
    with pytest.raises(BudgetError, match="total_budget"):
        StateStore.create({"total_budget": -5}, AGENTS, name=name)
    with pytest.raises(ValueError):
        ray_session.get_actor(name)
    with pytest.raises(InvalidArgumentError, match="detached"):
        StateStore.create(None, AGENTS, detached=True)
    with pytest.raises(InvalidArgumentError, match="timeout"):
        StateStore.create(None, AGENTS, timeout=0)


def test_shutdown_makes_every_handle_unavailable(store: StateStore) -> None:
    """After shutdown, this handle and others on the same actor raise StateUnavailable."""
    name = _unique_name()
    named = StateStore.create(None, AGENTS, name=name)
    other = StateStore.connect(name)
    job_id = named.create_job("d")
    named.shutdown()
    named.shutdown()  # twice is harmless
    with pytest.raises(StateUnavailable, match="shut down"):
        named.job_summary(job_id)
    with pytest.raises(StateUnavailable, match=name):
        other.job_summary(job_id)
    with pytest.raises(StateUnavailable):
        StateStore.connect(name)
    assert store.budget_summary()["total_reserved"] == Decimal(0)  # other stores live on


def test_connect_by_name_shares_the_state(ray_session: Any) -> None:
    """connect returns a handle on the same actor; a taken name or non-store is refused."""
    name = _unique_name()
    created = StateStore.create({"total_budget": 10}, AGENTS, name=name, namespace="eap-test")
    try:
        connected = StateStore.connect(name, namespace="eap-test")
        job_id = created.create_job("d")
        assert connected.job_summary(job_id)["job_id"] == job_id
        connected.reserve("a")
        assert created.budget_summary()["total_reserved"] == Decimal(1)
        with pytest.raises(StoreExistsError, match=name):
            StateStore.create(None, AGENTS, name=name, namespace="eap-test")
        with pytest.raises(StateUnavailable):
            StateStore.connect(name)  # wrong namespace
    finally:
        created.shutdown()

    @ray_session.remote(num_cpus=0)
    class NotAStore:
        def ping(self) -> str:
            return "something else"

    other_name = _unique_name()
    other = NotAStore.options(name=other_name).remote()
    try:
        with pytest.raises(StateUnavailable, match="not a StateStore"):
            StateStore.connect(other_name)
    finally:
        ray_session.kill(other)


def test_handle_pickles_into_tasks_and_actors(ray_session: Any, store: StateStore) -> None:
    """A pickled handle, a Ray task and a Ray actor all reach the same store."""
    job_id = _job_with_tasks(store, 3)
    copy = pickle.loads(pickle.dumps(store))
    copy.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}])

    @ray_session.remote(num_cpus=0)
    def in_task(handle: StateStore) -> int:
        return handle.update_tasks(job_id, [{"task_id": "t1", "status": "completed"}])

    @ray_session.remote(num_cpus=0)
    class Worker:
        def __init__(self, handle: StateStore) -> None:
            self.handle = handle

        def finish(self) -> int:
            return self.handle.update_tasks(job_id, [{"task_id": "t2", "status": "failed"}])

    ray_session.get(in_task.remote(store))
    worker = Worker.remote(store)
    assert ray_session.get(worker.finish.remote()) == 5
    summary = store.job_summary(job_id)
    assert (summary["completed_tasks"], summary["failed_tasks"]) == (2, 1)
    assert summary["is_complete"]
    ray_session.kill(worker)


def test_batcher_flushes_into_the_store(store: StateStore) -> None:
    """StateBatcher flushes task updates and cost records into a store; a bad flush keeps all."""
    from shell.batcher import StateBatcher

    job_id = _job_with_tasks(store, 3)
    batcher = StateBatcher()
    batcher.add_task_update("t0", "running")
    batcher.add_task_update("t0", "completed", result={"n": 1})
    batcher.add_task_update("t1", "failed", error="boom")
    batcher.add_cost_record("a", 1, "0.9", job_id="paid-1")
    assert batcher.flush_task_updates(store, job_id) == 3
    batcher.flush_budget_updates(store)
    assert len(batcher) == 0
    summary = store.job_summary(job_id)
    assert (summary["completed_tasks"], summary["failed_tasks"]) == (1, 1)
    assert store.job_state(job_id).tasks["t0"].result == {"n": 1}
    assert store.budget_summary()["total_spent"] == Decimal("0.9")

    batcher.add_task_update("t2", "running")
    batcher.add_task_update("t0", "running")  # t0 is completed: the actor refuses
    with pytest.raises(InvalidTransitionError):
        batcher.flush_task_updates(store, job_id)
    assert len(batcher.pending().task_updates) == 2
    assert store.job_state(job_id).tasks["t2"].status is TaskStatus.PENDING


def test_store_core_without_ray_versions_and_errors() -> None:
    """The actor body alone: versions bump only on change, errors leave state as it was."""
    core = StoreCore(create_store_command("c0", {"total_budget": 2}, AGENTS))
    assert core.execute(create_job_command("c1", "j", "d", 1.0)) == "j"
    assert core.job_version("j") == 1
    assert core.execute(add_tasks_command("c2", "j", [])) == 1
    assert core.execute(add_tasks_command("c3", "j", [{"task_id": "t", "agent_name": "a"}])) == 2
    before = core.job_state("j")
    with pytest.raises(UnknownTaskError):
        core.execute(update_tasks_command("c4", "j", [{"task_id": "x", "status": "running"}], 2.0))
    assert core.job_state("j") is before and core.job_version("j") == 2
    assert isinstance(core.job_state("j"), JobExecution)
    grants = [core.execute(reserve_command(f"r{i}", "a", None, None)).can_afford for i in range(3)]
    assert grants == [True, True, False]
    assert core.budget_summary()["total_reserved"] == Decimal(2)
    assert core.store_info()["applied"] == 7


def test_update_batches_cross_to_the_actor_as_their_journal_entry(store: StateStore) -> None:
    """The handle sends an update batch as its entry text; a malformed one is refused unchanged."""
    job_id = _job_with_tasks(store, 2)
    request = requests.update_tasks(job_id, [{"task_id": "t0", "status": "running"}])
    (payload,) = request.args
    assert type(payload) is str and json.loads(payload)["args"][1][1] == ["running"]
    version = store.list_jobs()[job_id]
    assert ray_get(store._actor.execute.remote(payload)) == version + 1
    entry = json.loads(payload)
    entry["id"], entry["args"][1] = uuid.uuid4().hex, "not columns"
    with pytest.raises(InvalidStateError) as info:
        ray_get(store._actor.execute.remote(json.dumps(entry)))
    assert info.value.field == "updates"
    assert store.list_jobs()[job_id] == version + 1
    assert store.job_state(job_id).tasks["t0"].status is TaskStatus.RUNNING
