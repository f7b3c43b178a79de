"""A journaled store's snapshots, written on a thread of their own.

Why: encoding a snapshot is proportional to the whole state (every open
job's every task), hundreds of milliseconds for a few hundred thousand
tasks. Written in the commit path, under the store's lock, it held up every
writer for that long once per ``snapshot_every`` commands. The states are
immutable, so a published one can be encoded while writers go on; only the
interpreter's lock is shared. A snapshot is an optimisation of recovery,
never part of an acknowledgement: one that fails or is cut short by the
process dying costs a longer replay, nothing else.
"""

from __future__ import annotations

import contextlib
import threading

from core.errors import StateError
from core.ledger import EncodedSnapshot, LedgerState, encode_snapshot_since
from shell.journal import Journal, open_journal

__all__ = ["SnapshotWriter"]


class SnapshotWriter:
    """Writes the newest state it was given as a snapshot, one at a time, off the caller's thread.

    Args:
        url: The journal's URL; the writer has a connection of its own, so a
            snapshot never waits for (or holds up) the commit path's.
        name: The store's name in the journal.

    Requests that arrive while one is being written coalesce: only the newest
    is written next (an older snapshot would be superseded anyway). Each
    snapshot keeps the parts of the jobs unchanged since the one before
    (`core.ledger.encode_snapshot_since`): they are neither encoded nor written
    again, so the jobs cost in proportion to those that changed; the writer
    keeps the last snapshot's jobs until the next.
    """

    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._name = name
        self._journal: Journal | None = None
        self._changed = threading.Condition()
        self._wanted: LedgerState | None = None
        self._last: EncodedSnapshot | None = None  # only the writing thread touches it
        self._busy = False
        self.written = 0

    def request(self, state: LedgerState) -> None:
        """Have ``state`` written soon; returns at once. O(1)."""
        with self._changed:
            self._wanted = state
            if self._busy:
                return
            self._busy = True
        threading.Thread(target=self._write_all, name="eap-state-snapshots", daemon=True).start()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the requested snapshots; True when none is left."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._busy, timeout)

    def _write_all(self) -> None:
        try:
            while True:
                with self._changed:
                    state, self._wanted = self._wanted, None
                    if state is None:
                        self._busy = False  # in the same hold as the check: no request is lost
                        self._changed.notify_all()
                        return
                with contextlib.suppress(StateError):
                    self._write(state)
        except BaseException:
            # A defect, not an unreachable journal: report it (threading.excepthook)
            # but leave the writer usable, so later snapshots are still written.
            with self._changed:
                self._busy = False
                self._changed.notify_all()
            raise

    def _write(self, state: LedgerState) -> None:
        if self._journal is None:
            self._journal = open_journal(self._url)
        encoded = encode_snapshot_since(state, self._last)
        self._journal.write_snapshot(self._name, encoded.seq, encoded.text, encoded.parts)
        self._last = encoded
        self.written += 1
