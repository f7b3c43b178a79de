"""Tests for a state read from a snapshot: its replies, summaries and versions decode when read."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from core.errors import CommandConflictError, JournalFormatError
from core.ledger import (
    LedgerState,
    add_tasks_command,
    apply_command,
    checksum,
    close_job_command,
    create_job_command,
    create_store_command,
    decode_snapshot,
    encode_snapshot,
    job_summary,
    job_versions,
    open_ledger,
    recover_state,
    reserve_command,
    update_tasks_command,
)
from core.ledger._lazy import LazyMap
from core.ledger.commands import Command

AGENTS = [{"name": "a", "price": "1.5"}]


def _history(remember: int = 4) -> tuple[LedgerState, list[tuple[Command, Any]]]:
    """A store whose window of replies is full (some evicted), a closed job and reservations."""
    state = open_ledger(create_store_command("c0", {"total_budget": 100}, AGENTS), remember)
    applied: list[tuple[Command, Any]] = []
    commands = [
        create_job_command("c1", "j1", "kept", 1.0),
        add_tasks_command("c2", "j1", [{"task_id": "t", "agent_name": "a"}]),
        reserve_command("c3", "a", None, "r1"),
        create_job_command("c4", "$dec", "closed, with an id like a tag", 2.0),
        close_job_command("c5", "$dec"),
        update_tasks_command("c6", "j1", [{"task_id": "t", "status": "running"}], 3.0),
        reserve_command("c7", "a", None, None),
        create_job_command("c8", "j2", "closed too", 4.0),
        close_job_command("c9", "j2"),
    ]
    for command in commands:
        state, reply = apply_command(state, command)
        applied.append((command, reply))
    return state, applied


def _read_back(state: LedgerState) -> LedgerState:
    text = encode_snapshot(state)
    return decode_snapshot(text, checksum(text))


def test_a_resend_after_recovery_returns_its_first_reply() -> None:
    """Every remembered id (the last `remember`) answers a resend with its first reply."""
    state, applied = _history()
    restored = _read_back(state)
    assert list(restored.replies) == [command.command_id for command, _ in applied[-4:]]
    assert restored.replies.base
    for command, reply in applied[-4:]:
        after, again = apply_command(restored, command)
        assert after is restored and again == reply and type(again) is type(reply)


def test_a_conflicting_resend_after_recovery_is_refused() -> None:
    """A remembered id resent with other arguments raises CommandConflictError after recovery."""
    state, _ = _history()
    restored = _read_back(state)
    for command_id in restored.replies:
        other = create_job_command(command_id, "elsewhere", "other arguments", None)
        with pytest.raises(CommandConflictError):
            apply_command(restored, other)


def test_closed_summaries_and_versions_read_back_after_recovery() -> None:
    """Closed jobs' summaries (a "$" id too) and every version read the same after recovery."""
    state, _ = _history()
    for restored in (_read_back(state), _read_back(_read_back(state))):
        for job_id in ("$dec", "j2"):
            assert job_summary(restored, job_id) == job_summary(state, job_id)
        assert job_versions(restored) == job_versions(state)
        assert restored == state


def test_a_recovered_state_writes_the_same_snapshot_onward() -> None:
    """A snapshot of a recovered state, after more commands, equals one of the live state."""
    state, _ = _history()
    restored = _read_back(state)
    for command in (
        update_tasks_command("d1", "j1", [{"task_id": "t", "status": "completed"}], 5.0),
        close_job_command("d2", "j1"),
        reserve_command("d3", "a", None, "r2"),
    ):
        state, reply = apply_command(state, command)
        restored, again = apply_command(restored, command)
        assert again == reply
    assert _read_back(restored) == _read_back(state) == state


def test_a_malformed_remembered_reply_is_a_journal_format_error() -> None:
    """A reply that cannot be decoded raises JournalFormatError when recalled, never ValueError."""
    state, applied = _history(remember=100)
    data = json.loads(encode_snapshot(state))
    ids, _, replies = data["replies"]
    replies[ids.index("c3")] = ["decision", [1]]
    text = json.dumps(data)
    restored = decode_snapshot(text, checksum(text))
    with pytest.raises(JournalFormatError, match="remembered reply"):
        apply_command(restored, applied[2][0])


@pytest.mark.parametrize(
    "field, value",
    [
        ("replies", [["c0"], [], [None]]),
        ("replies", [["c0"], ["d"], [1.5]]),
        ("replies", [["c0", "c0"], ["d", "d"], [None, None]]),
        ("replies", [[], [], []]),
        ("replies", [[f"c{i}" for i in range(5)], ["d"] * 5, [None] * 5]),
        ("remember", 2),
        ("remember", 1.5),
        ("remember", "4"),
        ("closed", [["j", {}]]),
        ("versions", {"j1": "2"}),
    ],
)
def test_a_misshapen_snapshot_falls_back_to_a_full_replay(field: str, value: Any) -> None:
    """Uneven, mistyped or duplicated entries make a snapshot unreadable: recovery replays."""
    state, applied = _history()
    data = json.loads(encode_snapshot(state))
    data[field] = value
    text = json.dumps(data)
    with pytest.raises(JournalFormatError, match="malformed snapshot"):
        decode_snapshot(text, checksum(text))
    first = create_store_command("c0", {"total_budget": 100}, AGENTS)
    log = [first, *(command for command, _ in applied)]
    rows = [(seq, c.body, checksum(c.body)) for seq, c in enumerate(log, start=1)]
    recovered = recover_state([(len(rows), text, checksum(text))], lambda after: rows[after:])
    assert recovered.bad_snapshots == 1 and recovered.snapshot_seq == 0
    assert job_versions(recovered.state) == job_versions(state)


def test_a_lazy_map_is_a_persistent_mapping() -> None:
    """set shares the base and shadows it, len counts keys once, and a pickle reads back equal."""
    base = LazyMap({"a": "1", "b": "2"}, int)
    shadowed = base.set("a", 10).set("c", 3)
    assert dict(base) == {"a": 1, "b": 2} and len(base) == 2
    assert dict(shadowed) == {"a": 10, "b": 2, "c": 3} and len(shadowed) == 3
    assert shadowed.shadowed and not base.shadowed and "c" not in base
    assert shadowed.get("zz", 0) == 0 and shadowed.encoded(str) == {"a": "10", "b": "2", "c": "3"}
    with pytest.raises(KeyError):
        shadowed["zz"]
    assert pickle.loads(pickle.dumps(shadowed)) == shadowed
