"""The store actor's body with a journal, without Ray: write-ahead, restarts, fencing."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

import pytest
from journal_fixtures import journal_url, require_pg, unique_name
from tcp_proxy import TcpProxy

import shell._snapshots as snapshots
from core.errors import UnknownTaskError
from core.ledger import (
    EncodedSnapshot,
    LedgerState,
    add_tasks_command,
    create_job_command,
    create_store_command,
    encode_snapshot_since,
    reserve_command,
    update_tasks_command,
)
from shell.errors import JournalUnavailable, StoreExistsError, UnknownStoreError
from shell.journal import open_journal
from shell.store_actor import StoreCore

__all__ = ["journal_url"]

AGENTS = [{"name": "a", "price": 1}]


def _create(command_id: str = "c0") -> object:
    return create_store_command(command_id, {"total_budget": 3}, AGENTS)


def test_refused_commands_are_not_journaled(journal_url: str) -> None:
    """A command the core refuses changes nothing and writes no entry."""
    name = unique_name()
    core = StoreCore(_create(), journal_url, name)
    core.execute(create_job_command("c1", "j", "d", 1.0))
    core.execute(add_tasks_command("c2", "j", [{"task_id": "t", "agent_name": "a"}]))
    with pytest.raises(UnknownTaskError):
        core.execute(update_tasks_command("c3", "j", [{"task_id": "x", "status": "running"}], 2))
    assert [seq for seq, _, _ in open_journal(journal_url).entries_after(name, 0)] == [1, 2, 3]
    assert core.store_info()["applied"] == 3


def test_a_restart_recovers_and_a_stranger_is_refused(journal_url: str) -> None:
    """The same create command again (a Ray restart) recovers; another one is refused."""
    name = unique_name()
    first = StoreCore(_create(), journal_url, name, snapshot_every=2)
    for i in range(5):
        first.execute(reserve_command(f"r{i}", "a", None, f"res{i}"))
        assert first.wait_for_snapshots(10.0)  # each written before the next is due
    restarted = StoreCore(_create(), journal_url, name, snapshot_every=2)
    assert restarted.state == first.state
    assert restarted.store_info()["recoveries"] == 1
    assert StoreCore(None, journal_url, name).state == first.state
    with pytest.raises(StoreExistsError):
        StoreCore(_create("other"), journal_url, name)
    with pytest.raises(UnknownStoreError):
        StoreCore(None, journal_url, unique_name())
    assert [row[0] for row in open_journal(journal_url).snapshots(name)] == [6, 4, 2]


def test_a_second_writer_is_fenced_off_and_read_back(journal_url: str) -> None:
    """If another writer took the next seq, the append fails; the store re-reads the journal."""
    name = unique_name()
    core = StoreCore(_create(), journal_url, name)
    other = create_job_command("foreign", "f", "written elsewhere", 1.0)
    open_journal(journal_url).append(name, 2, other.body)
    with pytest.raises(JournalUnavailable):
        core.execute(create_job_command("c1", "j", "d", 1.0))
    assert core.job_summary("f")["description"] == "written elsewhere"
    assert core.execute(create_job_command("c1", "j", "d", 1.0)) == "j"
    assert core.store_info()["applied"] == 3


def test_database_lost_and_back() -> None:
    """An unreachable database: construction still succeeds, calls fail, then recover."""
    dsn = urlparse(require_pg())
    proxy = TcpProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432))
    url = dsn._replace(netloc=f"{dsn.username or 'postgres'}@127.0.0.1:{proxy.port}").geturl()
    name = unique_name()
    with proxy:
        StoreCore(_create(), url, name).execute(reserve_command("r1", "a", None, None))
    restarted = StoreCore(_create(), url, name)  # a restart while the database is away
    with pytest.raises(JournalUnavailable):
        restarted.budget_summary()
    with proxy:
        assert restarted.budget_summary()["total_reserved"] == 1
        assert restarted.execute(reserve_command("r1", "a", None, None)).can_afford
        assert restarted.store_info()["applied"] == 2


def test_concurrent_commands_share_commits_and_lose_nothing(journal_url: str) -> None:
    """8 threads at once: commits are shared, the journal replays to the published state."""
    name = unique_name()
    core = StoreCore(create_store_command("c0", {"total_budget": 50}, AGENTS), journal_url, name)
    grants: list[bool] = []
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(10):
                command = reserve_command(f"w{worker}-{i}", "a", None, f"r{worker}-{i}")
                grants.append(core.execute(command).can_afford)
                grants.append(core.execute(command).can_afford)  # a resend: same reply
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sum(grants) == 100  # 50 grants, each answered twice
    info = core.store_info()
    assert info["applied"] == 81 and info["commits"] <= 80
    assert open_journal(journal_url).recover(name).state == core.state
    assert core.budget_summary()["total_reserved"] == 50


def test_a_failed_group_commit_acknowledges_none_of_it() -> None:
    """Writers racing a database cut: whatever was acknowledged is in the journal, nothing else."""
    dsn = urlparse(require_pg())
    proxy = TcpProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432))
    url = dsn._replace(netloc=f"{dsn.username or 'postgres'}@127.0.0.1:{proxy.port}").geturl()
    name = unique_name()
    acknowledged: list[str] = []
    with proxy:
        core = StoreCore(create_store_command("c0", {"total_budget": 500}, AGENTS), url, name)

        def write(worker: int) -> None:
            for i in range(40):
                command_id = f"w{worker}-{i}"
                try:
                    core.execute(reserve_command(command_id, "a", None, None))
                except JournalUnavailable:
                    continue
                acknowledged.append(command_id)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        proxy.cut()
        time.sleep(0.05)
        proxy.start()
        for thread in threads:
            thread.join()
    state = open_journal(require_pg()).recover(name).state
    journaled = set(state.replies)
    assert set(acknowledged) <= journaled
    assert state.budget.total_reserved == len(journaled) - 1  # less the creation


def test_a_call_many_of_commands_is_one_commit(journal_url: str) -> None:
    """Coalesced commands apply alone, share one commit, and a read after them sees them."""
    name = unique_name()
    core = StoreCore(_create(), journal_url, name)
    before = core.store_info()["commits"]
    replies = core.call_many(
        [
            ("execute", (create_job_command("c1", "j", "d", 1.0),)),
            ("execute", (add_tasks_command("c2", "j", [{"task_id": "t", "agent_name": "a"}]),)),
            (
                "execute",
                (update_tasks_command("c3", "j", [{"task_id": "x", "status": "running"}], 2),),
            ),
            (
                "execute",
                (update_tasks_command("c4", "j", [{"task_id": "t", "status": "running"}], 2),),
            ),
            ("job_summary", ("j",)),
            ("execute", (reserve_command("c5", "a", None, "r1"),)),
        ]
    )
    assert [ok for ok, _ in replies] == [True, True, False, True, True, True]
    assert isinstance(replies[2][1], UnknownTaskError)
    assert replies[4][1]["running_tasks"] == 1  # the read waited for the commit
    assert core.store_info()["commits"] - before == 2  # c1, c2, c4 then c5
    assert [seq for seq, _, _ in open_journal(journal_url).entries_after(name, 0)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert open_journal(journal_url).recover(name).state == core.state


def test_a_failed_commit_fails_every_command_of_the_call_many() -> None:
    """A database cut during a coalesced commit acknowledges none of its commands."""
    dsn = urlparse(require_pg())
    proxy = TcpProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432))
    url = dsn._replace(netloc=f"{dsn.username or 'postgres'}@127.0.0.1:{proxy.port}").geturl()
    name = unique_name()
    with proxy:
        core = StoreCore(_create(), url, name)
        proxy.cut()
        replies = core.call_many(
            [("execute", (reserve_command(f"w{i}", "a", None, f"r{i}"),)) for i in range(3)]
        )
        assert [ok for ok, _ in replies] == [False, False, False]
        assert all(isinstance(error, JournalUnavailable) for _, error in replies)
        proxy.start()
        assert core.budget_summary()["total_reserved"] == 0
        assert core.execute(reserve_command("c0b", "a", None, "r0")).can_afford


def test_writers_never_wait_for_a_snapshot(
    journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot held up in encoding blocks no command; requests meanwhile coalesce."""
    release = threading.Event()
    encoded: list[int] = []

    def slow_encode(state: LedgerState, previous: EncodedSnapshot | None) -> EncodedSnapshot:
        encoded.append(state.applied)
        assert release.wait(10.0)
        return encode_snapshot_since(state, previous)

    monkeypatch.setattr(snapshots, "encode_snapshot_since", slow_encode)
    name = unique_name()
    core = StoreCore(_create(), journal_url, name, snapshot_every=2)
    for i in range(7):  # due at 2 (held up), then 4, 6, 8 while it is
        core.execute(reserve_command(f"r{i}", "a", None, f"res{i}"))
    assert core.store_info()["applied"] == 8 and not core.wait_for_snapshots(0.05)
    release.set()
    assert core.wait_for_snapshots(10.0)
    assert encoded == [2, 8]
    assert core.store_info()["snapshots"] == 2
    assert open_journal(journal_url).recover(name).snapshot_seq == 8


def test_a_snapshot_that_breaks_leaves_the_writer_usable(
    journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A defect while encoding one snapshot is reported; the next snapshot is still written."""
    broken = [True]
    seen: list[BaseException] = []

    def flaky_encode(state: LedgerState, previous: EncodedSnapshot | None) -> EncodedSnapshot:
        if broken.pop() if broken else False:
            raise RuntimeError("encoder defect")
        return encode_snapshot_since(state, previous)

    monkeypatch.setattr(snapshots, "encode_snapshot_since", flaky_encode)
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    name = unique_name()
    core = StoreCore(_create(), journal_url, name, snapshot_every=2)
    core.execute(reserve_command("r0", "a", None, "res0"))
    assert core.wait_for_snapshots(10.0)
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)  # the thread reports its defect just after it stops being busy
    assert [type(err) for err in seen] == [RuntimeError]
    assert core.store_info()["snapshots"] == 0
    for i in range(1, 3):
        core.execute(reserve_command(f"r{i}", "a", None, f"res{i}"))
    assert core.wait_for_snapshots(10.0)
    assert core.store_info()["snapshots"] == 1
    assert open_journal(journal_url).recover(name).snapshot_seq == 4
