"""Unit tests for the wire form of commands (core.ledger.command_to_wire / command_from_wire)."""

from __future__ import annotations

import json
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


def test_update_batch_travels_as_its_journal_entry() -> None:
    """An update_tasks command travels as its body: one str, exactly what a journal writes."""
    command = _command(
        [
            {"task_id": "t0", "status": "running"},
            {"task_id": "t1", "status": "failed", "error": "x"},
        ]
    )
    wire = command_to_wire(command)
    assert type(wire) is str and wire == command.body
    rebuilt = command_from_wire(wire)
    assert rebuilt == command and rebuilt.body is wire
    assert rebuilt.args[1].statuses == ("running", "failed")  # text: the core parses it


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


def _edited(command: Any, edit: Any) -> str:
    """The command's wire text, its entry decoded, changed by ``edit`` and encoded again."""
    entry = json.loads(command_to_wire(command))
    edit(entry)
    return json.dumps(entry)


def test_wire_columns_are_validated_when_applied() -> None:
    """A wire batch with a bad status is refused by the core, naming its index; nothing changes."""

    def bad_status(entry: dict[str, Any]) -> None:
        columns = entry["args"][1]
        columns[0], columns[1] = ["t0", "t1"], ["running", "done"]
        for column in columns[2:]:
            column.append(None)

    wire = _edited(_command([{"task_id": "t0", "status": "running"}]), bad_status)
    state = _store()
    with pytest.raises(InvalidUpdateError) as info:
        apply_command(state, command_from_wire(wire))
    assert info.value.index == 1 and info.value.field == "status"


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def edit(entry: Any) -> None:
        for key in path[:-1]:
            entry = entry[key]
        entry[path[-1]] = value

    return edit


def _malformed(change: str) -> Any:
    """A wire command broken in one way."""
    command = _command([{"task_id": "t0", "status": "running"}])
    wire = command_to_wire(command)
    edits = {
        "kind": _set(("kind",), "close_job"),
        "version": _set(("v",), 99),
        "command_id": _set(("id",), 5),
        "job_id": _set(("args", 0), ["j"]),
        "digest": _set(("digest",), None),
        "at": _set(("at",), 7),
        "columns": _set(("args", 1), [[], [], [], []]),
        "column": _set(("args", 1, 2), "ok"),
        "args": _set(("args",), ["j"]),
    }
    if change == "not a str":
        return list(wire)
    if change == "not json":
        return wire[:-1]
    if change == "not an object":
        return "[]"
    return _edited(command, edits[change])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("not a str", "command"),
        ("not json", "command"),
        ("not an object", "command"),
        ("kind", "command"),
        ("version", "command"),
        ("args", "command"),
        ("command_id", "command_id"),
        ("job_id", "job_id"),
        ("digest", "digest"),
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
