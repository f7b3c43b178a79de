"""Private: fresh command ids, unique without a system call per id.

A command id must never repeat: the store takes a repeated id for a resend
and answers it without applying it. ``uuid.uuid4()`` guarantees that with 122
random bits, but reads them from the kernel on every call, and on a writer
busy with Ray's calls that system call costs about as much as building the
rest of the command. Here the randomness is drawn once per process (96 bits)
and each id adds a counter to it: ids of one process differ by their counter,
and two processes share a prefix with a chance of about n² / 2⁹⁷ for n
processes. A forked child draws a prefix of its own.
"""

from __future__ import annotations

import itertools
import os
import threading

__all__ = ["fresh_id"]

_IDS_PER_PREFIX = 1 << 32  # the counter's 8 hex digits


def _new_state() -> tuple[str, itertools.count[int]]:
    return os.urandom(12).hex(), itertools.count()


class _Source:
    """A random prefix with its counter, read together; `next_id` is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _new_state()

    def reseed(self) -> None:
        self._state = _new_state()

    def next_id(self) -> str:
        # One read of the pair: a number is only ever written after its own prefix.
        prefix, counter = self._state
        number = next(counter)  # one atomic step under the GIL
        if number < _IDS_PER_PREFIX:
            return f"{prefix}{number:08x}"
        with self._lock:  # 2**32 ids drawn: a new prefix, so the counter never wraps
            if self._state[1] is counter:
                self._state = _new_state()
        return self.next_id()


_SOURCE = _Source()
os.register_at_fork(after_in_child=_SOURCE.reseed)


def fresh_id() -> str:
    """Return an id no other call returns: 32 lowercase hex digits, like ``uuid4().hex``. O(1)."""
    return _SOURCE.next_id()
