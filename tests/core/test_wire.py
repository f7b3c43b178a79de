"""Unit tests for the wire form of commands (core.ledger.command_to_wire / command_from_wire)."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import InvalidStateError, InvalidUpdateError, StateError
from core.frozen import freeze
from core.jobs.update_batch import parse_updates
from core.ledger import (
    add_tasks_command,
    apply_command,
    close_job_command,
    command_from_wire,
    command_to_wire,
    create_job_command,
    create_store_command,
    open_ledger,
    update_tasks_command,
)


def _command(updates: list[dict[str, Any]], command_id: str = "u1") -> Any:
    """An update_tasks command for job "j", stamped 7.0."""
    return update_tasks_command(command_id, "j", parse_updates(updates), 7.0)


def _store() -> Any:
    """A store with job "j" of three pending tasks t0, t1, t2."""
    state = open_ledger(create_store_command("c0", None, [{"name": "a", "price": 1}]))
    state, _ = apply_command(state, create_job_command("c1", "j", "d", 0.0))
    tasks = [{"task_id": f"t{i}", "agent_name": "a"} for i in range(3)]
    state, _ = apply_command(state, add_tasks_command("c2", "j", tasks))
    return state


def test_update_batch_travels_as_plain_lists_with_status_text() -> None:
    """An update_tasks command becomes exact lists, strs, floats and None; statuses as text."""
    command = _command(
        [
            {"task_id": "t0", "status": "running"},
            {"task_id": "t1", "status": "failed", "error": "x"},
        ]
    )
    wire = command_to_wire(command)
    assert wire == [
        "u1",
        "update_tasks",
        "j",
        [["t0", "t1"], ["running", "failed"], [None, None], [None, "x"], [None, None]],
        7.0,
        command.digest,
        command.body,
    ]
    assert all(type(status) is str for status in wire[3][1])


def test_rebuilt_command_applies_like_the_original() -> None:
    """The actor's rebuilt command gives the same state and reply, structured results included."""
    command = _command(
        [
            {"task_id": "t0", "status": "completed", "result": {"rows": [1, 2]}},
            {"task_id": "t1", "status": "running", "at": 3.0},
        ]
    )
    state = _store()
    rebuilt = command_from_wire(command_to_wire(command))
    assert apply_command(state, rebuilt) == apply_command(state, command)
    assert rebuilt.args[1].results[0] == freeze({"rows": [1, 2]})


def test_other_commands_and_commands_pass_through() -> None:
    """Commands other than update_tasks travel as they are; a Command is decoded as itself."""
    close = close_job_command("c9", "j")
    assert command_to_wire(close) is close
    assert command_from_wire(close) is close
    update = _command([{"task_id": "t0", "status": "running"}])
    assert command_from_wire(update) is update


def test_wire_columns_are_validated_when_applied() -> None:
    """A wire batch with a bad status is refused by the core, naming its index; nothing changes."""
    wire = command_to_wire(_command([{"task_id": "t0", "status": "running"}] * 1))
    wire[3][0] = ["t0", "t1"]
    wire[3][1] = ["running", "done"]
    for column in wire[3][2:]:
        column.append(None)
    state = _store()
    with pytest.raises(InvalidUpdateError) as info:
        apply_command(state, command_from_wire(wire))
    assert info.value.index == 1 and info.value.field == "status"


def _malformed(change: str) -> Any:
    """A wire command broken in one way."""
    wire = command_to_wire(_command([{"task_id": "t0", "status": "running"}]))
    if change == "not a list":
        return tuple(wire)
    if change == "short":
        return wire[:-1]
    if change == "kind":
        wire[1] = "close_job"
    elif change == "command_id":
        wire[0] = 5
    elif change == "job_id":
        wire[2] = ["j"]
    elif change == "digest":
        wire[5] = None
    elif change == "body":
        wire[6] = b"{}"
    elif change == "at":
        wire[4] = 7
    elif change == "columns":
        wire[3] = wire[3][:4]
    elif change == "column":
        wire[3][2] = "ok"
    return wire


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("not a list", "command"),
        ("short", "command"),
        ("kind", "command"),
        ("command_id", "command_id"),
        ("job_id", "job_id"),
        ("digest", "digest"),
        ("body", "body"),
        ("at", "at"),
        ("columns", "updates"),
        ("column", "updates"),
    ],
)
def test_malformed_wire_commands_are_refused_naming_the_part(change: str, field: str) -> None:
    """A payload that is not a well-formed wire command raises InvalidStateError naming the part."""
    with pytest.raises(InvalidStateError) as info:
        command_from_wire(_malformed(change))
    assert info.value.field == field
    assert isinstance(info.value, (StateError, ValueError))
