"""The journal's entry format: a command as versioned JSON text with a checksum.

An entry is one command (`core.ledger.commands.Command.body`). It carries the
format version ``"v"``; text written by a newer version is refused, never
guessed at. Money is always an exact decimal string (see
`core.ledger._values`). A checksum (CRC-32 of the UTF-8 text, 8 hex digits)
is stored beside each text, so a torn write is detected before it is parsed.
Snapshots are `core.ledger.snapshot`'s; recovery, which reads both, is
`core.ledger.recovery`'s.
"""

from __future__ import annotations

import zlib
from typing import Any

from core.budget.reducers import CostRecord
from core.errors import JournalFormatError, StateError
from core.jobs._columns import UpdateColumns, to_update_columns
from core.jobs.status import TaskStatus
from core.jobs.task import TaskRecord
from core.ledger._values import decode_value, dumps, loads
from core.ledger.commands import FORMAT_VERSION, KINDS, Command, entry_body, fingerprint

__all__ = ["checksum", "decode_entry"]


def checksum(text: str) -> str:
    """Return the CRC-32 of ``text`` as 8 hex digits."""
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def _checked(text: Any, check: Any, what: str, newest: int = FORMAT_VERSION) -> dict[str, Any]:
    """Parse a journal text after verifying its checksum and format version (at most ``newest``)."""
    if not isinstance(text, str) or checksum(text) != check:
        raise JournalFormatError(f"{what} fails its checksum (torn or corrupt)", field=what)
    data: dict[str, Any] = loads(text)
    version = data.get("v") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JournalFormatError(f"{what} has no format version", field="v", value=version)
    if version > newest:
        raise JournalFormatError(
            f"{what} was written by a newer format (version {version}; this library reads "
            f"up to {newest}): upgrade eap-state to read it",
            field="v",
            value=version,
        )
    return data


def _task(row: tuple[Any, ...]) -> TaskRecord:
    task_id, agent, data, status, result, error, started, done, round_no = row
    return TaskRecord(
        task_id, agent, data, TaskStatus(status), result, error, started, done, round_no
    )


def _args(kind: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Rebuild the typed arguments of a decoded command."""
    if kind == "add_tasks":
        return (args[0], tuple(_task(row) for row in args[1]))
    if kind == "update_tasks":
        return (args[0], to_update_columns(UpdateColumns(*args[1])))
    if kind == "record_costs":
        return (tuple(CostRecord(*row) for row in args[0]),)
    return args


def decode_entry(text: Any, check: Any) -> Command:
    """Return the command a journal entry holds.

    Raises:
        JournalFormatError: a bad checksum, a newer format or a malformed entry.
    """
    data = _checked(text, check, "entry")
    try:
        kind = data["kind"]
        if kind not in KINDS:
            raise JournalFormatError(f"unknown command kind {kind!r}", field="kind", value=kind)
        args_text = dumps(data["args"])
        digest = fingerprint(kind, args_text)
        if digest != data["digest"]:
            raise JournalFormatError("entry arguments do not match their digest", field="digest")
        command_id, at = data["id"], data["at"]
        args = _args(kind, decode_value(data["args"]))
    except JournalFormatError:
        raise
    except (StateError, KeyError, TypeError, ValueError) as err:
        raise JournalFormatError(f"malformed entry: {err!r}", field="entry") from err
    return Command(
        command_id, kind, args, at, digest, entry_body(command_id, kind, at, digest, args_text)
    )


def _is_newer(err: JournalFormatError, newest: int = FORMAT_VERSION) -> bool:
    """True for the error of a text written by a newer format: never skipped or dropped."""
    return err.field == "v" and isinstance(err.value, int) and err.value > newest
