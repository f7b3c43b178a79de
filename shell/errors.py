"""The shell's errors, all in the `core.errors.StateError` family.

The core raises only errors about its inputs. What can go wrong only where
there are processes, actors and connections is declared here: a store that
cannot be reached (`StateUnavailable`, also a `ConnectionError`), a shell
argument of the wrong type, and the store's own refusals. Like the core's,
each one also subclasses the builtin that matches its meaning.
"""

from __future__ import annotations

from core.errors import StateError

__all__ = [
    "DuplicateJobError",
    "InvalidArgumentError",
    "StateUnavailable",
    "StoreExistsError",
    "UnknownJobError",
]


class StateUnavailable(StateError, ConnectionError):
    """The state cannot be reached: its object or its owning actor is gone, or Ray is down."""


class InvalidArgumentError(StateError, ValueError):
    """A shell argument has the wrong type or value (a ref that is not an ObjectRef, a bad TTL)."""


class StoreExistsError(StateError, ValueError):
    """`StateStore.create` was given a name another live actor already holds."""


class UnknownJobError(StateError, ValueError):
    """A store call names a job id the store does not hold."""


class DuplicateJobError(StateError, ValueError):
    """`create_job` was given an explicit job id the store already holds."""
