"""The shell's errors, all in the `core.errors.StateError` family.

The core raises only errors about its inputs. What can go wrong only where
there are processes, actors and connections is declared here: a store that
cannot be reached (`StateUnavailable`, also a `ConnectionError`), a shell
argument of the wrong type, and the store's own refusals. Like the core's,
each one also subclasses the builtin that matches its meaning.
"""

from __future__ import annotations

from typing import Any

from core.errors import DuplicateJobError, StateError, UnknownJobError

__all__ = [
    "DuplicateJobError",
    "InvalidArgumentError",
    "JournalUnavailable",
    "OutcomeUnknown",
    "StateUnavailable",
    "StoreExistsError",
    "UnknownJobError",
    "UnknownStoreError",
]


class StateUnavailable(StateError, ConnectionError):
    """The state cannot be reached: its object or its owning actor is gone, or Ray is down."""


class InvalidArgumentError(StateError, ValueError):
    """A shell argument has the wrong type or value (a ref that is not an ObjectRef, a bad TTL)."""


class StoreExistsError(StateError, ValueError):
    """`StateStore.create` was given a name another live actor, or the journal, already holds."""


class UnknownStoreError(StateError, ValueError):
    """`StateStore.recover` was given a name its journal does not hold."""


class OutcomeUnknown(StateError, TimeoutError):
    """A call that changes the store timed out: it may or may not have been applied.

    Call again with the same ``command_id`` (the error carries it): the store
    applies a command id at most once and answers a resend with the first reply.

    Args:
        message: What timed out.
        command_id: The id to resend with.
    """

    def __init__(self, message: str, *, command_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("field", "command_id")
        kwargs.setdefault("value", command_id)
        super().__init__(message, **kwargs)
        self.command_id = command_id

    def __reduce__(self) -> tuple[Any, ...]:
        return (_outcome_unknown, (self.message, self.command_id))


def _outcome_unknown(message: str, command_id: str) -> OutcomeUnknown:
    return OutcomeUnknown(message, command_id=command_id)


class JournalUnavailable(StateUnavailable):
    """The store's journal (its database) cannot be reached; the change was not acknowledged.

    A connection lost in the middle of a commit may still have committed it:
    resend with the same ``command_id`` once the database is back to learn which.
    """
