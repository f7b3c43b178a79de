"""The store actor's body with a journal, without Ray: write-ahead, restarts, fencing."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from journal_fixtures import journal_url, require_pg, unique_name
from tcp_proxy import TcpProxy

from core.errors import UnknownTaskError
from core.ledger import (
    add_tasks_command,
    create_job_command,
    create_store_command,
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
