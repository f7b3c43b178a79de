"""Recovery: a store rebuilt from its newest readable snapshot and the journal entries after it.

Recovery is a fold: `recover_state` takes the newest readable snapshot (an
unreadable one is skipped for an older one, or for none), then applies the
entries after it with `core.ledger.state.apply_command`. A bad last entry
was never acknowledged (the store replies only after its commit) and is
dropped; a bad entry followed by good ones is corruption and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from core.errors import JournalFormatError, StateError, describe
from core.ledger.encoding import _is_newer, decode_entry
from core.ledger.snapshot import SNAPSHOT_FORMAT_VERSION, PartReader, decode_snapshot
from core.ledger.state import DEFAULT_REMEMBER, LedgerState, apply_command, open_ledger

__all__ = ["Recovered", "Rows", "recover_state"]


class Recovered(NamedTuple):
    """What `recover_state` rebuilt.

    Attributes:
        state: The store's state after the last good entry.
        snapshot_seq: The sequence number of the snapshot it started from (0: none).
        replayed: How many entries it applied after the snapshot.
        dropped_tail: Whether a torn last entry was dropped.
        bad_snapshots: How many newer snapshots were unreadable and skipped.
    """

    state: LedgerState
    snapshot_seq: int
    replayed: int
    dropped_tail: bool
    bad_snapshots: int


Rows = Iterable[tuple[int, str, str]]


def recover_state(
    snapshots: Rows,
    entries_after: Callable[[int], Rows],
    remember: int = DEFAULT_REMEMBER,
    read_part: PartReader | None = None,
) -> Recovered:
    """Rebuild a store from its newest readable snapshot and the entries after it.

    Args:
        snapshots: ``(seq, text, checksum)`` rows, newest first; read lazily,
            only until one decodes.
        entries_after: Returns the ``(seq, text, checksum)`` entry rows after a
            sequence number, in order.
        remember: The window of command ids of a store rebuilt from its first
            entry (`open_ledger`); a snapshot carries its own.
        read_part: Reads the job parts a snapshot refers to
            (`core.ledger.snapshot.decode_snapshot`); without it, a snapshot
            with parts is unreadable and skipped.

    Raises:
        JournalFormatError: no store (no snapshot and no first entry), a gap in
            the sequence, a corrupt entry before the last, or a newer format.
    """
    try:
        return _recover(snapshots, entries_after, remember, read_part)
    except StateError:
        raise
    except Exception as err:
        # Rows come from a database or a caller: a malformed row or a failing
        # reader means the journal cannot be read, never a stray TypeError.
        raise JournalFormatError(
            f"the journal's rows could not be read: {describe(err)}", field="journal", value=None
        ) from err


def _recover(
    snapshots: Rows,
    entries_after: Callable[[int], Rows],
    remember: int,
    read_part: PartReader | None,
) -> Recovered:
    state: LedgerState | None = None
    snapshot_seq = bad = 0
    for seq, text, check in snapshots:
        try:
            state = decode_snapshot(text, check, read_part)
        except JournalFormatError as err:
            if _is_newer(err, SNAPSHOT_FORMAT_VERSION):
                raise
            bad += 1
            continue
        snapshot_seq = seq
        break
    expected = snapshot_seq + 1
    pending: JournalFormatError | None = None
    replayed = 0
    for seq, text, check in entries_after(snapshot_seq):
        if pending is not None:
            raise JournalFormatError(
                f"journal entry {expected - 1} is corrupt and is not the last: {pending}",
                field="seq",
                value=expected - 1,
            ) from pending
        if seq != expected:
            raise JournalFormatError(
                f"journal entry {expected} is missing (next is {seq})", field="seq", value=seq
            )
        expected += 1
        try:
            command = decode_entry(text, check)
        except JournalFormatError as err:
            if _is_newer(err):
                raise
            pending = err
            continue
        if state is None:
            state = open_ledger(command, remember)
        else:
            state = apply_command(state, command)[0]
        replayed += 1
    if state is None:
        raise JournalFormatError("the journal holds no store", field="journal", value=None)
    return Recovered(state, snapshot_seq, replayed, pending is not None, bad)
