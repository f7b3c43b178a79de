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

from typing import Any

__all__ = [
    "BudgetError",
    "CommandConflictError",
    "DuplicateJobError",
    "DuplicateTaskError",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "JournalFormatError",
    "StateError",
    "UnjournalableValueError",
    "UnknownJobError",
    "UnknownTaskError",
]

_MISSING: Any = object()


class StateError(Exception):
    """Root of every eap-state error.

    Args:
        message: What went wrong, naming the field and value.
        field: The offending field, when there is one.
        value: The offending value, when there is one.
        index: Position of the offending item inside a batch.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = _MISSING,
        index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
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
            where += f" ({ident_name}={ident!r})"
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
