"""Private: a `Command` as plain data, the form an update batch travels in to a store's actor.

Why this exists: Ray packs a call's arguments with msgpack, in C, when they
are exact lists, strs, numbers and None, and pickles anything else with
cloudpickle, whose per-object hooks run in Python on the caller's side and
whose unpickling costs more on the actor's. A `Command` is a named tuple
holding another named tuple and `TaskStatus` members, so every update batch
took the slow road on both sides, while a hand-written actor taking lists of
dicts took the fast one. `update_tasks` commands, a store's hot path,
therefore travel as a list of plain values (`command_to_wire`) and become a
`Command` again in the actor (`command_from_wire`). Other commands are rare
and travel as they are.

A wire command is trusted no more than an unpickled one: `command_from_wire`
checks its shape and types, and its columns become an `UpdateColumns` that
`apply_command` validates once before applying them, as it does any batch it
did not parse itself.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidStateError, describe
from core.jobs._columns import UpdateColumns
from core.jobs.status import TaskStatus
from core.ledger.commands import Command

__all__ = ["command_from_wire", "command_to_wire"]

_KIND = "update_tasks"
_new_tuple = tuple.__new__
# A TaskStatus member's text as an exact str, looked up in C: TaskStatus.__str__ runs
# in Python, and str.__str__ copies a subclass's characters into a new str.
_TEXT = {status: status.value for status in TaskStatus}


def command_to_wire(command: Command) -> Any:
    """Return ``command`` as the actor call's argument: plain lists for `update_tasks`. O(n).

    ``[command_id, kind, job_id, [task_ids, statuses, results, errors, ats], at,
    digest, body]``, statuses as their text; any other command is returned as it is.
    """
    if command.kind != _KIND:
        return command
    job_id, columns = command.args
    task_ids, statuses, results, errors, ats = columns
    return [
        command.command_id,
        _KIND,
        job_id,
        [
            list(task_ids),
            list(map(_TEXT.__getitem__, statuses)),
            list(results),
            list(errors),
            list(ats),
        ],
        command.at,
        command.digest,
        command.body,
    ]


def command_from_wire(payload: Any) -> Command:
    """Return the `Command` a `command_to_wire` list stands for (a `Command` as it is). O(n).

    The columns are not validated here: they become an `UpdateColumns` the
    core checks before applying it, as it checks any batch it did not parse.

    Raises:
        InvalidStateError: ``payload`` is neither a `Command` nor a well-formed
            wire command, naming the part that is wrong.
    """
    if type(payload) is Command:
        return payload
    if type(payload) is not list or len(payload) != 7 or payload[1] != _KIND:
        raise InvalidStateError(
            f"the store received a malformed command: {describe(payload)}",
            field="command",
            value=payload,
        )
    command_id, kind, job_id, columns, at, digest, body = payload
    named = (("command_id", command_id), ("job_id", job_id), ("digest", digest), ("body", body))
    for name, value in named:
        if type(value) is not str:
            raise InvalidStateError(
                f"the store received a command whose {name} is not a str: {describe(value)}",
                field=name,
                value=value,
            )
    if at is not None and type(at) is not float:
        raise InvalidStateError(
            f"the store received a command whose at is not a float: {describe(at)}",
            field="at",
            value=at,
        )
    if (
        type(columns) is not list
        or len(columns) != len(UpdateColumns._fields)
        or not all(type(column) is list for column in columns)
    ):
        raise InvalidStateError(
            f"the store received update columns that are not five lists: {describe(columns)}",
            field="updates",
            value=columns,
        )
    args = (job_id, _new_tuple(UpdateColumns, map(tuple, columns)))
    return _new_tuple(Command, (command_id, kind, args, at, digest, body))
