"""Private: the form an update batch travels in to a store's actor: its journal entry's text.

Why this exists: Ray packs a call's arguments with msgpack, in C, when they
are exact lists, strs, numbers and None, and pickles anything else with
cloudpickle, whose per-object hooks run in Python on the caller's side and
whose unpickling costs more on the actor's. A `Command` is a named tuple
holding another named tuple and `TaskStatus` members, so every update batch
would take the slow road on both sides. An `update_tasks` command, a store's
hot path, already carries its whole self as JSON text, its journal entry
(`Command.body`): it travels as that one str, which Ray copies without
looking inside, and the actor reads it back with ``json.loads`` (C). What the
actor applies is then exactly what it journals. Other commands are rare and
travel as they are.

A wire command is trusted no more than an unpickled one: `command_from_wire`
checks the entry's shape and types, and its columns become an `UpdateColumns`
that `apply_command` validates once before applying them, as it does any
batch it did not parse itself.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import InvalidStateError, describe
from core.jobs._columns import UpdateColumns
from core.ledger._values import decode_value, plain_items
from core.ledger.commands import FORMAT_VERSION, Command

__all__ = ["command_from_wire", "command_to_wire"]

_KIND = "update_tasks"
_FIELDS = len(UpdateColumns._fields)
_new_tuple = tuple.__new__
_LISTS = {list}


def command_to_wire(command: Command) -> Any:
    """Return ``command`` as the actor call's argument: an `update_tasks` as its body. O(1).

    Any other command is returned as it is.
    """
    return command.body if command.kind == _KIND else command


def _refused(what: str, field: str, value: Any) -> InvalidStateError:
    return InvalidStateError(
        f"the store received {what}: {describe(value)}", field=field, value=value
    )


def command_from_wire(payload: Any) -> Command:
    """Return the `Command` a `command_to_wire` payload stands for (a `Command` as it is). O(n).

    The columns are not validated here: they become an `UpdateColumns` the
    core checks before applying it, as it checks any batch it did not parse.

    Raises:
        InvalidStateError: ``payload`` is neither a `Command` nor the body of an
            `update_tasks` command, naming the part that is wrong.
    """
    if type(payload) is Command:
        return payload
    if type(payload) is not str:
        raise _refused("a malformed command", "command", payload)
    try:
        entry = json.loads(payload)
    except (ValueError, RecursionError):
        raise _refused("a command that is not JSON", "command", payload[:80]) from None
    if (
        type(entry) is not dict
        or entry.get("v") != FORMAT_VERSION
        or entry.get("kind") != _KIND
        or type(entry.get("args")) is not list
        or len(entry["args"]) != 2
    ):
        raise _refused("a malformed update_tasks command", "command", payload[:80])
    command_id, at, digest = entry.get("id"), entry.get("at"), entry.get("digest")
    job_id, columns = entry["args"]
    for name, value in (("command_id", command_id), ("job_id", job_id), ("digest", digest)):
        if type(value) is not str:
            raise _refused(f"a command whose {name} is not a str", name, value)
    if at is not None and type(at) is not float:
        raise _refused("a command whose at is not a float", "at", at)
    if type(columns) is not list or len(columns) != _FIELDS or set(map(type, columns)) != _LISTS:
        raise _refused("update columns that are not five lists", "updates", columns)
    task_ids, statuses, results, errors, ats = columns
    # Results were encoded for JSON (tags for what it lacks): decode the ones that are not plain.
    decoded = tuple(results) if plain_items(results) else tuple(map(decode_value, results))
    updates = _new_tuple(
        UpdateColumns, (tuple(task_ids), tuple(statuses), decoded, tuple(errors), tuple(ats))
    )
    return _new_tuple(Command, (command_id, _KIND, (job_id, updates), at, digest, payload))
