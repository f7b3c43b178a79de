"""The journal backends (SQLite and PostgreSQL, one suite for both), without Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from journal_fixtures import journal_url, unique_name

from core.errors import JournalFormatError
from core.ledger import (
    Command,
    add_tasks_command,
    apply_command,
    checksum,
    create_job_command,
    create_store_command,
    encode_snapshot,
    encode_snapshot_since,
    open_ledger,
    replay,
    reserve_command,
)
from shell.errors import InvalidArgumentError, JournalUnavailable, StateUnavailable
from shell.journal import SqliteJournal, open_journal
from shell.journal._sqlite import check_local, filesystem_type

__all__ = ["journal_url"]


def _commands(n: int) -> list[Command]:
    commands = [create_store_command("c0", {"total_budget": 100}, [{"name": "a", "price": 1}])]
    commands.append(create_job_command("c1", "j", "d", 1.0))
    for i in range(2, n):
        if i % 2:
            commands.append(reserve_command(f"c{i}", "a", None, f"r{i}"))
        else:
            commands.append(
                add_tasks_command(f"c{i}", "j", [{"task_id": f"t{i}", "agent_name": "a"}])
            )
    return commands


def _write(journal: object, name: str, commands: list[Command]) -> None:
    for seq, command in enumerate(commands, start=1):
        journal.append(name, seq, command.body)  # type: ignore[attr-defined]


def test_recovery_equals_the_fold_of_what_was_appended(journal_url: str) -> None:
    """Entries appended and read back rebuild exactly the state their fold gives."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = _commands(30)
    _write(journal, name, commands)
    assert journal.has_store(name) and journal.first_command_id(name) == "c0"
    recovered = journal.recover(name)
    assert recovered.state == replay(commands)
    assert (recovered.replayed, recovered.dropped_tail) == (30, False)
    journal.close()


def test_names_keep_stores_apart_in_one_database(journal_url: str) -> None:
    """Two stores in one journal never see each other's entries."""
    journal = open_journal(journal_url)
    first, second = unique_name(), unique_name()
    _write(journal, first, _commands(5))
    _write(journal, second, _commands(9))
    assert journal.recover(first).state.applied == 5
    assert journal.recover(second).state.applied == 9
    assert not journal.has_store(unique_name())


def test_a_taken_sequence_number_is_refused(journal_url: str) -> None:
    """Appending a seq that exists raises JournalUnavailable (a second writer is fenced off)."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = _commands(3)
    _write(journal, name, commands)
    with pytest.raises(JournalUnavailable) as info:
        journal.append(name, 3, commands[2].body)
    assert isinstance(info.value, StateUnavailable)
    assert journal.recover(name).state == replay(commands)


def test_torn_last_entry_is_dropped_and_removed(journal_url: str) -> None:
    """A last row failing its checksum is dropped on recovery and deleted, so seq is free."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = _commands(6)
    _write(journal, name, commands)
    torn = commands[-1].body[:25]
    journal._run(
        "INSERT INTO eap_state_entries (store, seq, body, checksum) VALUES (?, ?, ?, ?)",
        (name, 7, torn, checksum(commands[-1].body)),
    )
    recovered = journal.recover(name)
    assert recovered.dropped_tail and recovered.state == replay(commands)
    assert [row[0] for row in journal.entries_after(name, 5)] == [6]


def test_snapshots_are_kept_few_and_a_bad_one_is_skipped(journal_url: str) -> None:
    """Recovery starts from the newest good snapshot; only the newest three are kept."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = _commands(40)
    _write(journal, name, commands)
    for seq in (10, 20, 30):
        journal.write_snapshot(name, seq, encode_snapshot(replay(commands[:seq])))
    journal._run(
        "INSERT INTO eap_state_snapshots (store, seq, body, checksum) VALUES (?, ?, ?, ?)",
        (name, 35, "{broken", "00000000"),
    )
    recovered = journal.recover(name)
    assert recovered.state == replay(commands)
    assert (recovered.snapshot_seq, recovered.replayed, recovered.bad_snapshots) == (30, 10, 1)
    journal.write_snapshot(name, 40, encode_snapshot(recovered.state))
    assert [row[0] for row in journal.snapshots(name)] == [40, 35, 30]


def _parts(journal: object, name: str) -> set[tuple[str, int]]:
    rows = journal._run(  # type: ignore[attr-defined]
        "SELECT job_id, seq FROM eap_state_snapshot_parts WHERE store = ?", (name,), True
    )
    return {(job_id, seq) for job_id, seq in rows}


def test_snapshots_write_only_the_jobs_that_changed(journal_url: str) -> None:
    """A job unchanged since the last snapshot keeps its part; parts no kept snapshot needs go."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = [
        create_store_command("c0", {"total_budget": 100}, [{"name": "a", "price": 1}]),
        create_job_command("c1", "quiet", "d", 1.0),
        add_tasks_command("c2", "quiet", [{"task_id": "t", "agent_name": "a"}]),
        create_job_command("c3", "busy", "d", 1.0),
    ]
    for i in range(4, 12):
        commands.append(
            add_tasks_command(f"c{i}", "busy", [{"task_id": f"t{i}", "agent_name": "a"}])
        )
    _write(journal, name, commands)
    encoded = None
    state = open_ledger(commands[0])
    for seq in (4, 6, 8, 10, 12):
        # Applied in order, as the store does: an untouched job stays the same object.
        for command in commands[state.applied : seq]:
            state, _ = apply_command(state, command)
        encoded = encode_snapshot_since(state, encoded)
        journal.write_snapshot(name, seq, encoded.text, encoded.parts)
        changed = {"quiet", "busy"} if seq == 4 else {"busy"}
        assert {p.job_id for p in encoded.new_parts} == changed
        recovered = journal.recover(name)
        assert (recovered.state, recovered.snapshot_seq) == (replay(commands), seq)
    # "quiet" is still the part written with the first snapshot, which was dropped.
    assert [row[0] for row in journal.snapshots(name)] == [12, 10, 8]
    assert _parts(journal, name) == {("quiet", 4), ("busy", 8), ("busy", 10), ("busy", 12)}


def test_a_snapshot_whose_part_is_lost_is_skipped(journal_url: str) -> None:
    """A part missing or torn makes its snapshot unreadable: recovery starts further back."""
    journal = open_journal(journal_url)
    name = unique_name()
    commands = _commands(20)
    _write(journal, name, commands)
    first = encode_snapshot_since(replay(commands[:10]), None)
    journal.write_snapshot(name, 10, first.text, first.parts)
    second = encode_snapshot_since(replay(commands[:16]), first)
    journal.write_snapshot(name, 16, second.text, second.parts)
    journal._run(
        "UPDATE eap_state_snapshot_parts SET body = 'x' WHERE store = ? AND seq = 16", (name,)
    )
    recovered = journal.recover(name)
    assert recovered.state == replay(commands)
    assert (recovered.snapshot_seq, recovered.bad_snapshots) == (10, 1)
    journal._run("DELETE FROM eap_state_snapshot_parts WHERE store = ?", (name,))
    recovered = journal.recover(name)
    assert (recovered.state, recovered.snapshot_seq, recovered.bad_snapshots) == (
        replay(commands),
        0,
        2,
    )
    journal.delete_store(name)
    assert _parts(journal, name) == set() and not journal.has_store(name)


def test_a_journal_written_by_0_5_0_recovers(tmp_path: Path) -> None:
    """A journal without the parts table and with a format 2 snapshot is read, then upgraded."""
    # SQLite in a file of its own: dropping a table of the shared PostgreSQL database
    # would pull it from under other stores.
    journal_url = f"sqlite://{tmp_path}/old.db"
    old = open_journal(journal_url)
    name = unique_name()
    commands = _commands(20)
    _write(old, name, commands)
    data = json.loads(encode_snapshot(replay(commands[:15])))
    data["v"] = 2
    del data["job_parts"]
    text = json.dumps(data)
    old._run(
        "INSERT INTO eap_state_snapshots (store, seq, body, checksum) VALUES (?, ?, ?, ?)",
        (name, 15, text, checksum(text)),
    )
    old._run("DROP TABLE eap_state_snapshot_parts")  # 0.5.0 had no such table
    old.close()
    journal = open_journal(journal_url)  # a new connection creates what is missing
    recovered = journal.recover(name)
    assert (recovered.state, recovered.snapshot_seq, recovered.replayed) == (
        replay(commands),
        15,
        5,
    )
    encoded = encode_snapshot_since(recovered.state, None)
    journal.write_snapshot(name, 20, encoded.text, encoded.parts)
    assert journal.recover(name).snapshot_seq == 20


def test_newer_format_in_a_journal_is_refused(journal_url: str) -> None:
    """A journal whose entry was written by a newer format version is not read."""
    journal = open_journal(journal_url)
    name = unique_name()
    _write(journal, name, _commands(2))
    body = '{"v":99,"id":"c9","kind":"close_job","at":null,"digest":"x","args":["j"]}'
    journal.append(name, 3, body)
    with pytest.raises(JournalFormatError, match="newer format"):
        journal.recover(name)


def test_unknown_store_is_a_clear_error(journal_url: str) -> None:
    """Recovering a name the journal does not hold raises JournalFormatError."""
    with pytest.raises(JournalFormatError, match="holds no store"):
        open_journal(journal_url).recover(unique_name())


def test_applied_state_matches_after_reopening(journal_url: str) -> None:
    """A second connection (a restarted store) reads what the first one committed."""
    name = unique_name()
    first = open_journal(journal_url)
    commands = _commands(4)
    state = open_ledger(commands[0])
    first.append(name, 1, commands[0].body)
    for command in commands[1:]:
        state, _ = apply_command(state, command)
        first.append(name, state.applied, command.body)
    assert open_journal(journal_url).recover(name).state == state


def test_unreachable_database_is_journal_unavailable(tmp_path: Path) -> None:
    """A server that does not answer, or a file that cannot be opened, is JournalUnavailable."""
    missing_dir = open_journal(f"sqlite://{tmp_path}/no/such/dir/j.db")
    with pytest.raises(JournalUnavailable):
        missing_dir.has_store("x")
    pytest.importorskip("psycopg")
    closed_port = open_journal("postgresql://postgres:secret@127.0.0.1:1/test?connect_timeout=1")
    with pytest.raises(JournalUnavailable) as info:
        closed_port.append("x", 1, "{}")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        None,
        "mysql://x/y",
        "sqlite://relative.db",
        "sqlite:relative.db",
        "sqlite:///tmp/",
        "sqlite:///tmp/j.db?synchronous=off",
        "sqlite:///tmp/j.db?fsync=1",
        "sqlite:///tmp/\ud800.db",
    ],
)
def test_bad_journal_urls_are_refused(url: object) -> None:
    """Anything but an absolute sqlite path or a postgresql URL is an InvalidArgumentError."""
    with pytest.raises(InvalidArgumentError) as info:
        open_journal(url)
    assert info.value.field in ("journal", "synchronous")


def test_sqlite_options(tmp_path: Path) -> None:
    """``?synchronous=normal`` is taken; FULL is the default."""
    normal = open_journal(f"sqlite://{tmp_path}/a.db?synchronous=NORMAL")
    full = open_journal(f"sqlite://{tmp_path}/b.db")
    assert isinstance(normal, SqliteJournal) and normal.synchronous == "normal"
    assert isinstance(full, SqliteJournal) and full.synchronous == "full"
    normal.append("s", 1, _commands(1)[0].body)
    assert normal._connection.execute("PRAGMA synchronous").fetchone() == (1,)
    assert normal._connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_network_filesystems_are_refused(tmp_path: Path) -> None:
    """A journal path on an NFS or CIFS mount is refused; a local one is not."""
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\nserver:/x /mnt/shared nfs4 rw 0 0\n//h/s /mnt/smb cifs rw 0 0\n"
    )
    assert filesystem_type("/mnt/shared/ledger", mounts.read_text()) == "nfs4"
    assert filesystem_type("/mnt/sharedx", mounts.read_text()) == "ext4"
    with pytest.raises(InvalidArgumentError, match="nfs4"):
        check_local("/mnt/shared/ledger/j.db", str(mounts))
    with pytest.raises(InvalidArgumentError, match="cifs"):
        check_local("/mnt/smb/j.db", str(mounts))
    check_local("/home/j.db", str(mounts))


def test_missing_server_skips_naming_the_variable_or_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No server: PostgreSQL tests skip naming EAP_STATE_PG_DSN, or fail when CI requires it."""
    import journal_fixtures

    monkeypatch.setenv("EAP_STATE_PG_DSN", "postgresql://postgres@127.0.0.1:1/none")
    journal_fixtures._pg_problem.cache_clear()
    try:
        monkeypatch.delenv("EAP_STATE_REQUIRE_PG", raising=False)
        with pytest.raises(pytest.skip.Exception, match="EAP_STATE_PG_DSN"):
            journal_fixtures.require_pg()
        monkeypatch.setenv("EAP_STATE_REQUIRE_PG", "1")
        with pytest.raises(pytest.fail.Exception, match="EAP_STATE_REQUIRE_PG=1"):
            journal_fixtures.require_pg()
    finally:
        journal_fixtures._pg_problem.cache_clear()
