"""Tests for core.ledger: commands as data, idempotent apply, exact encoding, recovery."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.errors import (
    BudgetError,
    CommandConflictError,
    DuplicateJobError,
    InvalidStateError,
    InvalidTaskError,
    InvalidUpdateError,
    JournalFormatError,
    StateError,
    UnknownJobError,
)
from core.frozen import FrozenDict, freeze
from core.jobs.update_batch import parse_updates
from core.ledger import (
    SNAPSHOT_FORMAT_VERSION,
    Command,
    LedgerState,
    add_tasks_command,
    apply_command,
    checksum,
    close_job_command,
    create_job_command,
    create_store_command,
    decode_entry,
    decode_snapshot,
    encode_snapshot,
    encode_snapshot_since,
    job_summary,
    open_ledger,
    poll_job,
    record_costs_command,
    recover_state,
    release_command,
    replay,
    reserve_command,
    update_tasks_command,
)
from core.ledger._values import decode_value, encode_value
from core.ledger.commands import make_command

AGENTS = [{"name": "a", "price": "1.5"}, {"name": "b", "price": 2, "max_total_spend": 4}]


def _store(total: Any = 10) -> tuple[LedgerState, list[Command]]:
    create = create_store_command("c-create", {"total_budget": total}, AGENTS)
    return open_ledger(create), [create]


def _run(state: LedgerState, log: list[Command], command: Command) -> tuple[LedgerState, Any]:
    state, reply = apply_command(state, command)
    log.append(command)
    return state, reply


def _rows(log: list[Command]) -> list[tuple[int, str, str]]:
    return [(seq, c.body, checksum(c.body)) for seq, c in enumerate(log, start=1)]


def _busy_store() -> tuple[LedgerState, list[Command]]:
    state, log = _store()
    tasks = [
        {"task_id": f"t{i}", "agent_name": "a", "input_data": {"q": i, 7: b"\x00", "s": {1, 2}}}
        for i in range(4)
    ]
    for command in (
        create_job_command("c1", "j1", "audience", 100.0),
        add_tasks_command("c2", "j1", tasks),
        update_tasks_command(
            "c3",
            "j1",
            [{"task_id": "t0", "status": "running"}, {"task_id": "t1", "status": "completed"}],
            101.5,
        ),
        reserve_command("c4", "a", None, "r1"),
        reserve_command("c5", "new", {"price": "0.25"}, None),
        release_command("c6", "a", "0.5", "r1"),
        record_costs_command(
            "c7", [{"agent_name": "b", "expected": 2, "actual": "2.75", "job_id": "p1"}]
        ),
        create_job_command("c8", "j2", "other", None),
        close_job_command("c9", "j2"),
    ):
        state, _ = _run(state, log, command)
    return state, log


def test_apply_returns_replies_and_versions() -> None:
    """Each command kind replies as the store method does: job id, version, decision, None."""
    state, log = _store()
    state, job_id = _run(state, log, create_job_command("c1", "j1", "d", 5.0))
    state, version = _run(
        state, log, add_tasks_command("c2", "j1", [{"task_id": "t", "agent_name": "a"}])
    )
    state, updated = _run(
        state, log, update_tasks_command("c3", "j1", [{"task_id": "t", "status": "running"}], 6.0)
    )
    state, decision = _run(state, log, reserve_command("c4", "a", None, None))
    assert (job_id, version, updated) == ("j1", 2, 3)
    assert decision.can_afford and decision.expected_cost == Decimal("1.5")
    assert state.jobs["j1"].tasks["t"].started_at == 6.0
    assert state.applied == 5 and state.budget_version == 2


def test_resend_returns_first_reply_and_changes_nothing() -> None:
    """The same command id twice applies once; the second call returns the first reply."""
    state, _ = _busy_store()
    again = reserve_command("c4", "a", None, "r1")
    after, reply = apply_command(state, again)
    assert after is state
    assert reply.can_afford


def test_resend_restamped_is_the_same_command() -> None:
    """A resend with a new clock reading (``at``) is the same command, not a conflict."""
    state, log = _store()
    state, _ = _run(state, log, create_job_command("c1", "j1", "d", 5.0))
    after, reply = apply_command(state, create_job_command("c1", "j1", "d", 9.0))
    assert after is state and reply == "j1"


def test_same_id_other_payload_is_a_conflict() -> None:
    """A command id reused with other arguments raises CommandConflictError (a ValueError)."""
    state, _ = _busy_store()
    with pytest.raises(CommandConflictError) as info:
        apply_command(state, release_command("c6", "a", "0.75", "r1"))
    assert isinstance(info.value, ValueError) and info.value.value == "c6"


def test_refused_command_is_not_remembered() -> None:
    """A refused command changes nothing, so the same id may be used again once it is valid."""
    state, log = _store()
    with pytest.raises(UnknownJobError):
        apply_command(state, add_tasks_command("c1", "nope", [{"task_id": "t", "agent_name": "a"}]))
    state, _ = _run(state, log, create_job_command("c0", "nope", "d", None))
    state, version = _run(
        state, log, add_tasks_command("c1", "nope", [{"task_id": "t", "agent_name": "a"}])
    )
    assert version == 2


def test_release_by_reservation_gives_back_once() -> None:
    """Releasing a reservation id twice (different command ids) gives its money back once."""
    state, log = _store()
    state, _ = _run(state, log, reserve_command("c1", "b", None, "r"))
    state, _ = _run(state, log, release_command("c2", "b", 2, "r"))
    state, _ = _run(state, log, release_command("c3", "b", 2, "r"))
    assert state.budget.total_reserved == 0
    state, _ = _run(state, log, reserve_command("c4", "b", None, "r2"))
    state, _ = _run(state, log, release_command("c5", "b", 2, "r"))
    assert state.budget.total_reserved == 2
    with pytest.raises(BudgetError, match="no reservation"):
        apply_command(state, release_command("c6", "a", 1, "r2"))


def test_close_job_keeps_its_final_summary() -> None:
    """A closed job leaves memory; its summary and version stay readable; changes are refused."""
    state, _ = _busy_store()
    assert "j2" not in state.jobs
    assert job_summary(state, "j2")["description"] == "other"
    assert poll_job(state, "j2", None)[0] == 1
    with pytest.raises(UnknownJobError, match="closed"):
        apply_command(state, add_tasks_command("x", "j2", [{"task_id": "t", "agent_name": "a"}]))
    with pytest.raises(DuplicateJobError):
        apply_command(state, create_job_command("y", "j2", "again", None))


def test_factories_validate_before_anything_is_applied() -> None:
    """A malformed command is refused by its factory with the core's own error."""
    with pytest.raises(InvalidUpdateError):
        update_tasks_command("c", "j", [{"task_id": "t", "status": "done"}], None)
    with pytest.raises(BudgetError):
        release_command("c", "a", "-1", None)
    with pytest.raises(BudgetError):
        record_costs_command("c", [{"agent_name": "a", "expected": 1}])
    # Task data is checked at the one door (core.frozen) before it reaches the journal.
    with pytest.raises(InvalidTaskError, match="input_data"):
        add_tasks_command("c", "j", [{"task_id": "t", "agent_name": "a", "input_data": object()}])


def test_values_roundtrip_exactly() -> None:
    """encode/decode keeps Decimals, bytes, sets, non-str keys, $-keys and odd floats exactly."""
    value = freeze(
        {
            "money": Decimal("0.000000000000000001"),
            "raw": b"\xff\x00",
            1: [1.5, float("inf"), None, True],
            "set": frozenset({"x", 2}),
            "nested": {"$dec": "not a tag"},
            "s": "\ud800",
        }
    )
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == value


def test_money_is_written_as_decimal_strings() -> None:
    """Amounts appear in an entry as exact decimal strings, never floats."""
    body = record_costs_command(
        "c", [{"agent_name": "a", "expected": "0.1", "actual": "0.30", "job_id": "j"}]
    ).body
    assert '{"$dec":"0.30"}' in body and "0.1," not in body


def test_entry_roundtrip_and_checksum() -> None:
    """Every entry decodes to the command it was; a changed byte fails its checksum."""
    _, log = _busy_store()
    for command in log:
        assert decode_entry(command.body, checksum(command.body)) == command
    body = log[2].body
    with pytest.raises(JournalFormatError, match="checksum"):
        decode_entry(body.replace("t1", "t9"), checksum(body))


def test_newer_format_is_refused() -> None:
    """An entry or snapshot written by a newer format version raises a clear error."""
    body = '{"v":2,"id":"c","kind":"close_job","at":null,"digest":"x","args":["j"]}'
    with pytest.raises(JournalFormatError, match="newer format"):
        decode_entry(body, checksum(body))
    with pytest.raises(JournalFormatError, match="newer format"):
        recover_state([], lambda after: [(1, body, checksum(body))])


def test_a_newer_snapshot_format_is_refused() -> None:
    """A snapshot of a format newer than this library reads stops recovery with a clear error."""
    state, log = _busy_store()
    data = json.loads(encode_snapshot(state))
    data["v"] = SNAPSHOT_FORMAT_VERSION + 1
    text = json.dumps(data)
    with pytest.raises(JournalFormatError, match="newer format"):
        recover_state([(len(log), text, checksum(text))], lambda after: _rows(log)[after:])


def test_a_format_1_snapshot_is_skipped_for_a_replay() -> None:
    """A 0.4.0 snapshot (two generations of ids) is not read: recovery replays the journal."""
    state, log = _busy_store()
    data = json.loads(encode_snapshot(state))
    data["v"] = 1
    data["replies"] = [data["replies"], [[], [], []]]
    text = json.dumps(data)
    with pytest.raises(JournalFormatError, match="format 1") as raised:
        decode_snapshot(text, checksum(text))
    assert (raised.value.field, raised.value.value) == ("v", 1)
    recovered = recover_state([(len(log), text, checksum(text))], lambda after: _rows(log)[after:])
    assert recovered.bad_snapshots == 1 and recovered.snapshot_seq == 0
    assert recovered.state == state


def test_a_format_2_snapshot_is_still_read() -> None:
    """A 0.5.0 snapshot (every job inline, no job parts) decodes to the state it holds."""
    state, _ = _busy_store()
    data = json.loads(encode_snapshot(state))
    data["v"] = 2
    del data["job_parts"]
    text = json.dumps(data)
    assert decode_snapshot(text, checksum(text)) == state


def _with_parts(state: LedgerState) -> tuple[str, dict[tuple[str, int], tuple[str, str]]]:
    encoded = encode_snapshot_since(state, None)
    return encoded.text, {(p.job_id, p.seq): (p.text, p.checksum) for p in encoded.new_parts}


def test_a_snapshot_reads_its_jobs_from_their_parts() -> None:
    """A store's snapshot holds references to its jobs' parts and decodes through them."""
    state, _ = _busy_store()
    text, parts = _with_parts(state)
    assert json.loads(text)["jobs"] == [] and len(parts) == len(state.jobs) > 0
    assert decode_snapshot(text, checksum(text), lambda j, s: parts.get((j, s))) == state


@pytest.mark.parametrize(
    "damage",
    ["no reader", "missing", "torn", "altered", "other checksum", "other job", "bad refs"],
)
def test_a_bad_job_part_makes_its_snapshot_unreadable(damage: str) -> None:
    """A part missing, torn or not the one referred to is a JournalFormatError (skipped)."""
    state, log = _busy_store()
    text, parts = _with_parts(state)
    key = next(iter(parts))
    part_text, part_check = parts[key]
    if damage == "missing":
        del parts[key]
    elif damage == "torn":
        parts[key] = (part_text[:-2], part_check)
    elif damage == "altered":  # still valid JSON: only the checksum can tell
        parts[key] = (part_text.replace('"a"', '"b"'), part_check)
        assert parts[key][0] != part_text
    elif damage == "other checksum":
        parts[key] = (part_text, "0" * 8)
    elif damage == "other job":
        other = json.loads(part_text)
        other[0] = "someone-else"
        parts[key] = (json.dumps(other), checksum(json.dumps(other)))
        data = json.loads(text)
        data["job_parts"] = [[j, s, parts[(j, s)][1]] for j, s, _ in data["job_parts"]]
        text = json.dumps(data)
    elif damage == "bad refs":
        data = json.loads(text)
        data["job_parts"] = [["j1", "4", part_check]]
        text = json.dumps(data)
    reader = None if damage == "no reader" else (lambda j, s: parts.get((j, s)))
    with pytest.raises(JournalFormatError):
        decode_snapshot(text, checksum(text), reader)
    recovered = recover_state(
        [(len(log), text, checksum(text))], lambda after: _rows(log)[after:], read_part=reader
    )
    assert (recovered.state, recovered.bad_snapshots, recovered.snapshot_seq) == (state, 1, 0)


@pytest.mark.parametrize("remember", [0, -1, True, 1.5, "3", None])
def test_open_ledger_refuses_a_bad_window(remember: Any) -> None:
    """A window of remembered ids that is not a positive int is an InvalidStateError naming it."""
    create = create_store_command("c0", {"total_budget": 10}, [{"name": "a", "price": 1}])
    with pytest.raises(InvalidStateError, match="remember") as raised:
        open_ledger(create, remember)
    assert raised.value.field == "remember" and isinstance(raised.value, ValueError)


def test_snapshot_roundtrip_equals_the_state() -> None:
    """A snapshot decodes to a state equal to the one encoded, and that replays onward alike."""
    state, _ = _busy_store()
    text = encode_snapshot(state)
    restored = decode_snapshot(text, checksum(text))
    assert restored == state
    more = update_tasks_command("c10", "j1", [{"task_id": "t0", "status": "completed"}], 200.0)
    assert apply_command(restored, more) == apply_command(state, more)


def test_recovery_is_a_fold_and_drops_only_a_torn_tail() -> None:
    """Recovery replays the journal; a torn last entry is dropped, a corrupt middle one refused."""
    state, log = _busy_store()
    rows = _rows(log)
    assert replay(log) == state
    recovered = recover_state([], lambda after: rows[after:])
    assert recovered.state == state and not recovered.dropped_tail
    torn = [*rows, (len(rows) + 1, rows[-1][1][:20], rows[-1][2])]
    dropped = recover_state([], lambda after: torn[after:])
    assert dropped.state == state and dropped.dropped_tail
    broken = list(rows)
    broken[3] = (4, rows[3][1][:-3], rows[3][2])
    with pytest.raises(JournalFormatError, match="not the last"):
        recover_state([], lambda after: broken[after:])
    with pytest.raises(JournalFormatError, match="missing"):
        recover_state([], lambda after: [rows[0], rows[2]])


def test_recovery_falls_back_from_a_bad_snapshot() -> None:
    """A corrupt newest snapshot is skipped for an older one, or for a full replay."""
    state, log = _busy_store()
    rows = _rows(log)
    early = replay(log[:4])
    good = encode_snapshot(early)
    snapshots = [(8, "garbage", "00000000"), (4, good, checksum(good))]
    recovered = recover_state(snapshots, lambda after: rows[after:])
    assert recovered.state == state
    assert (recovered.snapshot_seq, recovered.bad_snapshots, recovered.replayed) == (4, 1, 6)
    none_good = recover_state(snapshots[:1], lambda after: rows[after:])
    assert none_good.state == state and none_good.snapshot_seq == 0


def test_empty_journal_is_no_store() -> None:
    """Recovering from nothing raises JournalFormatError, a StateError."""
    with pytest.raises(JournalFormatError) as info:
        recover_state([], lambda after: [])
    assert isinstance(info.value, StateError)


def test_frozen_values_survive_a_journal() -> None:
    """Task input written through a journal reads back as the same frozen value."""
    state, log = _busy_store()
    recovered = recover_state([], lambda after: _rows(log)[after:]).state
    data = recovered.jobs["j1"].tasks["t2"].input_data
    assert isinstance(data, FrozenDict) and data[7] == b"\x00"
    assert data == state.jobs["j1"].tasks["t2"].input_data


def test_parsed_batch_command_has_the_generic_encoding() -> None:
    """A command of a parse_updates batch has the digest and body the generic encoding gives."""
    updates = [
        {"task_id": "t", "status": "running", "result": {"q": (1, Decimal("0.5"), b"\x00")}},
        {"task_id": "u", "status": "failed", "error": "boom", "at": 3},
        {"task_id": "v", "status": "completed", "result": {"$x": 1.5}, "at": 2.5},
        {"task_id": "w", "status": "completed", "result": "ok"},
    ]
    batch = parse_updates(updates)
    fast = update_tasks_command("c", "j", batch, 4.0)
    generic = make_command("c", "update_tasks", ("j", batch._columns), 4.0)
    assert fast == generic
    assert update_tasks_command("c", "j", updates, 4.0) == generic
