"""The library's errors: one root, `StateError`; errors about bad input are also `ValueError`s.

Every error carries the offending ``field`` and ``value`` (and, inside a
batch, the ``index`` of the first bad item) both as attributes and in its
message, so a caller can log it or act on it without parsing text.
Errors pickle with their attributes, so they cross Ray process boundaries
as the same type.

Each subtype also subclasses the builtin that matches its meaning (as attrs
and Hypothesis do), so ``except ValueError`` keeps catching bad input while
``except StateError`` catches everything the library raises. Errors about
reaching a store (`shell.StateUnavailable`, a `ConnectionError`) are declared
in the shell, the only place that can lose a connection.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "MAX_SHOWN_CHARS",
    "MAX_SHOWN_DIGITS",
    "BudgetError",
    "CommandConflictError",
    "DuplicateJobError",
    "DuplicateTaskError",
    "InvalidStateError",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "JournalFormatError",
    "StateError",
    "UnjournalableValueError",
    "UnknownJobError",
    "UnknownTaskError",
    "describe",
]

_MISSING: Any = object()

#: Ints with more digits than this are described by their size, not printed:
#: Python refuses to print ints over 4,300 digits, and a message needs no more.
MAX_SHOWN_DIGITS = 40
#: Longest description of a value in a message; longer reprs are cut.
MAX_SHOWN_CHARS = 300

# For values whose own repr fails (too deep, a raising element): depth-limited.
_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = 80
_SHORT.maxother = 80
_SHORT.maxlong = MAX_SHOWN_DIGITS


def describe(value: object) -> str:
    """Return a short repr of ``value`` for an error message; it never raises.

    Every message the library builds about a caller's value goes through here,
    so no value can break the message meant to report it: an int too long to
    print, a ``__repr__`` that raises, a cyclic or 100,000-deep structure.
    The value's own repr is used when it works, cut to `MAX_SHOWN_CHARS`;
    otherwise a depth-limited one, or its type. Cost: that of the value's repr.
    """
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            digits = int.bit_length(value) * 30103 // 100000 + 1  # log10(2) ~ 0.30103
            if digits > MAX_SHOWN_DIGITS:
                sign = "-" if value < 0 else ""
                return f"<{sign}int of about {digits:,} digits>"
        try:
            text = repr(value)
        except Exception:
            text = _SHORT.repr(value)
        if type(text) is not str:
            raise TypeError("repr returned a non-str")
    except Exception:
        return f"<{type(value).__name__} object that cannot be shown>"
    if len(text) > MAX_SHOWN_CHARS:
        text = text[: MAX_SHOWN_CHARS - 3] + "..."
    return text


def _field_name(field: object) -> str | None:
    """Return a field as a str: itself when it is one, else its description."""
    if field is None or type(field) is str:
        return field
    return describe(field)


class StateError(Exception):
    """Root of every eap-state error.

    Args:
        message: What went wrong, naming the field and value.
        field: The offending field, when there is one (a key that is not a
            str, e.g. an unknown mapping key, is kept as its `describe`).
        value: The offending value, when there is one.
        index: Position of the offending item inside a batch.
    """

    def __init__(
        self,
        message: str,
        *,
        field: object = None,
        value: Any = _MISSING,
        index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = _field_name(field)
        self.value = None if value is _MISSING else value
        self.index = index

    def __str__(self) -> str:
        return self.message

    def in_batch(
        self,
        index: int,
        ident: object = _MISSING,
        *,
        item: str = "update",
        ident_name: str = "task_id",
    ) -> StateError:
        """Return a copy of this error, of the same type, that names its batch position.

        Args:
            index: Position of the failing item in the batch.
            ident: Identifier of the failing item (its task id, job id...), when known.
            item: What the batch holds, for the message ("update", "task", "record").
            ident_name: What ``ident`` is, for the message.

        Returns:
            A new error of ``type(self)`` whose message starts with the position,
            e.g. ``update[3] (task_id='t3'): ...``.
        """
        where = f"{item}[{index}]"
        if ident is not _MISSING and ident is not None:
            where += f" ({ident_name}={describe(ident)})"
        err = type(self).__new__(type(self))
        StateError.__init__(
            err, f"{where}: {self.message}", field=self.field, value=self.value, index=index
        )
        return err


class InvalidUpdateError(StateError, ValueError):
    """An update is malformed: an unknown key, a missing key or a wrong type."""


class InvalidTaskError(StateError, ValueError):
    """A task definition is malformed: an empty id, a bad round or a wrong type."""


class UnknownTaskError(StateError, ValueError):
    """An update names a task the job does not have."""


class DuplicateTaskError(StateError, ValueError):
    """A task id is added to a job that already holds it."""


class InvalidTransitionError(StateError, ValueError):
    """A status change the task lifecycle does not allow (e.g. completed -> running)."""


class BudgetError(StateError, ValueError):
    """A budget input or operation is invalid: a bad amount, a conflicting cost record."""


class InvalidStateError(StateError, ValueError):
    """A function was given something that is not the state it works on.

    E.g. ``apply_task_updates(None, ...)`` or ``reserve(job, ...)``: the state
    argument must be the `JobExecution`, `BudgetState` or `PendingBatch` that
    the core's own factories and reducers return.
    """


class CommandConflictError(StateError, ValueError):
    """A command id already applied is sent again with a different payload."""


class UnjournalableValueError(StateError, ValueError):
    """A value a journal cannot record exactly (an arbitrary object, a too deep nesting)."""


class JournalFormatError(StateError, ValueError):
    """A journal entry or snapshot cannot be read: corrupt, or written by a newer format."""


class UnknownJobError(StateError, ValueError):
    """A store call names a job id the store does not hold (or has closed, for a change)."""


class DuplicateJobError(StateError, ValueError):
    """`create_job` was given an explicit job id the store already holds."""
