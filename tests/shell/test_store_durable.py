"""StateStore command ids, timeouts, journals and recovery, with a real local Ray."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from journal_fixtures import journal_url, unique_name
from store_timing import IMPATIENT, impatient, occupied

from core.errors import (
    BudgetError,
    CommandConflictError,
    InvalidTaskError,
    StateError,
    UnknownTaskError,
)
from shell.aio import AsyncStateStore
from shell.errors import (
    InvalidArgumentError,
    OutcomeUnknown,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
    UnknownStoreError,
)
from shell.journal import open_journal
from shell.store import StateStore

__all__ = ["journal_url"]

pytestmark = pytest.mark.usefixtures("ray_session")

AGENTS = [{"name": "a", "price": 1}]


@pytest.fixture
def named_store() -> Iterator[StateStore]:
    """A fresh named in-memory store affording 5 jobs of agent ``a`` at price 1."""
    handle = StateStore.create({"total_budget": 5}, AGENTS, name=unique_name())
    yield handle
    handle.shutdown()


def _job(store: StateStore, n: int = 3) -> str:
    job_id = store.create_job("d")
    store.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(n)])
    return job_id


def _timed_out(call: Any) -> str:
    with pytest.raises(OutcomeUnknown) as info:
        call()
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, StateError)
    assert info.value.command_id in str(info.value)
    return info.value.command_id


def test_timed_out_changes_apply_once_when_resent(named_store: StateStore) -> None:
    """A change that times out raises OutcomeUnknown; resending its id applies it once."""
    hasty = impatient(named_store)
    job_id = _job(named_store)
    decision = named_store.reserve("a", reservation_id="r1")
    with occupied(named_store):
        release_id = _timed_out(lambda: hasty.release("a", 1, reservation_id="r1"))
    named_store.release("a", 1, reservation_id="r1", command_id=release_id)
    named_store.release("a", 1, reservation_id="r1", command_id=release_id)
    assert decision.can_afford and named_store.budget_summary()["total_reserved"] == 0
    update = [{"task_id": "t0", "status": "running"}]
    with occupied(named_store):
        update_id = _timed_out(lambda: hasty.update_tasks(job_id, update))
    version = named_store.update_tasks(job_id, update, command_id=update_id)
    assert named_store.update_tasks(job_id, update, command_id=update_id) == version
    with occupied(named_store):
        grant_id = _timed_out(lambda: hasty.reserve("a"))
    first = named_store.reserve("a", command_id=grant_id)
    assert named_store.reserve("a", command_id=grant_id) == first
    assert named_store.budget_summary()["total_reserved"] == 1


def test_every_change_takes_a_command_id(named_store: StateStore) -> None:
    """Each changing method sent twice with one id changes the store once, same reply."""
    job_id = named_store.create_job("d", command_id="c-job")
    assert named_store.create_job("d", command_id="c-job") == job_id == "c-job"
    tasks = [{"task_id": "t", "agent_name": "a"}]
    assert named_store.add_tasks(job_id, tasks, command_id="c-add") == 2
    assert named_store.add_tasks(job_id, tasks, command_id="c-add") == 2
    record = [{"agent_name": "a", "expected": 1, "actual": 2, "job_id": "p"}]
    named_store.record_costs(record, command_id="c-rec")
    named_store.record_costs(record, command_id="c-rec")
    named_store.close_job(job_id, command_id="c-close")
    named_store.close_job(job_id, command_id="c-close")
    assert named_store.budget_summary()["total_spent"] == Decimal(2)
    assert named_store.info()["applied"] == 5  # the store's creation is command 1


def test_reused_command_id_with_other_arguments_is_refused(named_store: StateStore) -> None:
    """The same command id with another payload raises CommandConflictError, changing nothing."""
    named_store.reserve("a", reservation_id="r", command_id="c")
    with pytest.raises(CommandConflictError):
        named_store.reserve("a", reservation_id="other", command_id="c")
    assert named_store.budget_summary()["total_reserved"] == 1


def test_timed_out_read_is_unavailable_not_unknown(named_store: StateStore) -> None:
    """A read that times out raises StateUnavailable (nothing to resend)."""
    with occupied(named_store), pytest.raises(StateUnavailable) as info:
        impatient(named_store).budget_summary()
    assert not isinstance(info.value, OutcomeUnknown)


def test_release_by_reservation_is_idempotent(named_store: StateStore) -> None:
    """Releasing one reservation id twice gives its money back once; a foreign id is refused."""
    named_store.reserve("a", reservation_id="r1")
    named_store.reserve("a", reservation_id="r2")
    named_store.release("a", 5, reservation_id="r1")
    named_store.release("a", 5, reservation_id="r1")
    assert named_store.budget_summary()["total_reserved"] == 1
    with pytest.raises(BudgetError, match="no reservation"):
        named_store.release("a", 1, reservation_id="never")
    named_store.release("a", 1)  # the form without an id keeps working
    assert named_store.budget_summary()["total_reserved"] == 0


def test_close_job_keeps_the_summary_and_refuses_changes(named_store: StateStore) -> None:
    """A closed job's summary and version stay readable; changes raise UnknownJobError."""
    job_id = _job(named_store)
    named_store.update_tasks(job_id, [{"task_id": "t0", "status": "completed"}])
    summary = named_store.job_summary(job_id)
    named_store.close_job(job_id)
    assert named_store.job_summary(job_id) == summary
    assert named_store.poll_job(job_id, 3) == (3, None)
    with pytest.raises(UnknownJobError, match="closed"):
        named_store.update_tasks(job_id, [{"task_id": "t1", "status": "running"}])
    with pytest.raises(UnknownJobError):
        named_store.job_state(job_id)
    assert named_store.info()["open_jobs"] == 0


def test_unrecordable_task_data_is_refused_before_sending(named_store: StateStore) -> None:
    """Task data no store can hold is refused by the core's one door, naming it; nothing changes."""
    job_id = named_store.create_job("d")
    with pytest.raises(InvalidTaskError, match="input_data"):
        named_store.add_tasks(job_id, [{"task_id": "t", "agent_name": "a", "input_data": object()}])
    assert named_store.poll_job(job_id)[0] == 1


def test_journaled_store_recovers_after_shutdown(journal_url: str) -> None:
    """Shut down and recovered, a journaled store has the same jobs, versions and budget."""
    name = unique_name()
    store = StateStore.create(
        {"total_budget": 5}, AGENTS, name=name, journal=journal_url, snapshot_every=4
    )
    job_id = _job(store)
    store.update_tasks(job_id, [{"task_id": "t0", "status": "running"}], command_id="u1")
    store.reserve("a", reservation_id="r1")
    store.record_costs([{"agent_name": "a", "expected": 1, "actual": "1.25", "job_id": "p"}])
    before = (store.poll_job(job_id), store.budget_summary(), store.job_state(job_id))
    deadline = time.monotonic() + 10
    while store.info()["snapshots"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # snapshots are written in the background
    store.shutdown()
    recovered = StateStore.recover(name, journal_url)
    try:
        assert (
            recovered.poll_job(job_id),
            recovered.budget_summary(),
            recovered.job_state(job_id),
        ) == before
        assert (
            recovered.update_tasks(
                job_id, [{"task_id": "t0", "status": "running"}], command_id="u1"
            )
            == before[0][0]
        )
        assert recovered.info()["recoveries"] == 1
    finally:
        recovered.shutdown()
    assert open_journal(journal_url).recover(name).snapshot_seq == 4


def test_journal_names_are_guarded(journal_url: str) -> None:
    """A journal name taken raises StoreExistsError; an unknown one UnknownStoreError."""
    name = unique_name()
    store = StateStore.create(None, AGENTS, name=name, journal=journal_url)
    store.shutdown()
    with pytest.raises(StoreExistsError, match="recover"):
        StateStore.create(None, AGENTS, name=name, journal=journal_url)
    with pytest.raises(UnknownStoreError):
        StateStore.recover(unique_name(), journal_url)
    with pytest.raises(InvalidArgumentError, match="needs a name"):
        StateStore.create(None, AGENTS, journal=journal_url)


def test_connect_refuses_actors_that_are_not_stores(ray_session: Any) -> None:
    """A ping with an argument, a ping that raises, or missing methods: StateUnavailable."""

    @ray_session.remote(num_cpus=0)
    class NeedsArgument:
        def ping(self, value: int) -> str:
            return "eap-state/store/2"

    @ray_session.remote(num_cpus=0)
    class Raises:
        def ping(self) -> str:
            raise KeyError("boom")

    @ray_session.remote(num_cpus=0)
    class OnlyPing:
        def ping(self) -> str:
            return "eap-state/store/2"

    from shell.store_actor import STORE_METHODS

    def full_class(ping: Any) -> Any:
        body = {method: (lambda self, *a: None) for method in STORE_METHODS}
        body["ping"] = ping
        return ray_session.remote(num_cpus=0)(type("Impostor", (), body))

    impostors = [
        NeedsArgument,
        Raises,
        OnlyPing,
        full_class(lambda self, value: "eap-state/store/2"),
        full_class(lambda self: {}["missing"]),
    ]
    for impostor in impostors:
        name = unique_name("impostor")
        actor = impostor.options(name=name).remote()
        try:
            with pytest.raises(StateUnavailable, match=name):
                StateStore.connect(name)
        finally:
            ray_session.kill(actor)


def test_failed_create_leaves_nothing_behind(ray_session: Any) -> None:
    """A create that times out kills its actor: the name is free and connect finds nothing."""
    name = unique_name()
    with pytest.raises(StateError):
        StateStore.create(None, [], name=name, detached=True, timeout=IMPATIENT)
    with pytest.raises(StateUnavailable):
        StateStore.connect(name)
    store = StateStore.create(None, [], name=name, detached=True)
    store.shutdown()


@pytest.mark.parametrize("timeout", [sys.maxsize, 1e30, 10**400, 1e9 + 1])
def test_timeouts_ray_cannot_take_are_refused_up_front(timeout: Any) -> None:
    """A timeout beyond 1e9 s is an InvalidArgumentError before any actor starts."""
    with pytest.raises(InvalidArgumentError) as info:
        StateStore.create(None, [], name=unique_name(), timeout=timeout)
    assert info.value.field == "timeout"


@pytest.mark.parametrize("name", ["\ud800", "ok\udfff"])
def test_names_that_are_not_unicode_are_refused(name: str) -> None:
    """A store name with a lone surrogate raises InvalidArgumentError (a StateError)."""
    with pytest.raises(InvalidArgumentError) as info:
        StateStore.create(None, [], name=name)
    assert info.value.field == "name"
    with pytest.raises(InvalidArgumentError):
        StateStore.connect(name)


def test_an_event_loops_single_calls_share_commits_and_all_recover(journal_url: str) -> None:
    """Concurrent awaited calls on a journaled store apply alone, share commits, all recover."""
    name = unique_name()
    calls = 60

    async def main() -> tuple[list[Any], int]:
        async with await AsyncStateStore.create(
            {"total_budget": 5}, AGENTS, name=name, journal=journal_url
        ) as store:
            job_id = await store.create_job("d", job_id="j")
            tasks = [{"task_id": f"t{i}", "agent_name": "a"} for i in range(calls)]
            await store.add_tasks(job_id, tasks)
            before = (await store.info())["commits"]
            replies = await asyncio.gather(
                *(
                    store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "running"}])
                    for i in range(calls)
                ),
                store.update_tasks(job_id, [{"task_id": "missing", "status": "running"}]),
                return_exceptions=True,
            )
            return replies, (await store.info())["commits"] - before

    replies, commits = asyncio.run(main())
    assert sorted(replies[:calls]) == list(range(3, calls + 3))  # every call its own version
    assert isinstance(replies[calls], UnknownTaskError)  # refused alone
    assert commits < calls
    recovered = open_journal(journal_url).recover(name).state
    assert recovered.jobs["j"].status_counts["running"] == calls


@pytest.mark.parametrize("group_commit", [False, True])
def test_separate_callers_share_commits_only_with_group_commit(
    journal_url: str, group_commit: bool
) -> None:
    """One thread commits each call alone; group_commit lets concurrent callers share commits."""
    name = unique_name()
    writers, calls = 8, 15
    store = StateStore.create(
        None, AGENTS, name=name, journal=journal_url, group_commit=group_commit
    )
    try:
        job_id = _job(store, writers * calls)
        before = store.info()["commits"]

        def write(first: int) -> None:
            for i in range(first, first + calls):
                store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "running"}])

        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(write, range(0, writers * calls, calls)))
        commits = store.info()["commits"] - before
        assert store.job_summary(job_id)["running_tasks"] == writers * calls
    finally:
        store.shutdown()
    if group_commit:
        assert commits < writers * calls
    else:
        assert commits == writers * calls
    assert (
        open_journal(journal_url).recover(name).state.jobs[job_id].status_counts["running"]
        == writers * calls
    )


def test_group_commit_is_a_bool_and_needs_a_journal() -> None:
    """group_commit must be a bool; True without a journal is refused before any actor starts."""
    name = unique_name()
    with pytest.raises(InvalidArgumentError, match="group_commit") as info:
        StateStore.create(None, AGENTS, name=name, journal=None, group_commit=True)
    assert info.value.field == "group_commit"
    with pytest.raises(StateUnavailable):
        StateStore.connect(name)  # no actor was started under the name
    with pytest.raises(InvalidArgumentError, match=r"group_commit.*bool.*'yes'"):
        StateStore.create(None, AGENTS, group_commit="yes")  # type: ignore[arg-type]
