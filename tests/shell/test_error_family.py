"""The error family: one root; input errors are ValueErrors; a lost store a ConnectionError."""

from __future__ import annotations

import pickle

import pytest

import shell
from core.errors import StateError
from shell.errors import (
    DuplicateJobError,
    InvalidArgumentError,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
)


def test_state_error_is_rooted_on_exception_not_value_error() -> None:
    """StateError derives from Exception only, so a dead store is not a ValueError."""
    assert StateError.__bases__ == (Exception,)
    assert not issubclass(StateError, ValueError)


def test_state_unavailable_is_a_connection_error_and_not_a_value_error() -> None:
    """StateUnavailable is a StateError and a ConnectionError, and never a ValueError."""
    assert issubclass(StateUnavailable, StateError)
    assert issubclass(StateUnavailable, ConnectionError)
    assert not issubclass(StateUnavailable, ValueError)


@pytest.mark.parametrize(
    "error", [InvalidArgumentError, StoreExistsError, UnknownJobError, DuplicateJobError]
)
def test_shell_input_errors_are_value_errors(error: type[StateError]) -> None:
    """Errors about a caller's arguments are StateErrors and ValueErrors."""
    assert issubclass(error, StateError)
    assert issubclass(error, ValueError)


def test_state_unavailable_pickles_with_its_fields() -> None:
    """StateUnavailable crosses a process boundary with its type, message, field and value."""
    err = StateUnavailable("store 's' is gone", field="store", value="s")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is StateUnavailable
    assert (str(back), back.field, back.value) == ("store 's' is gone", "store", "s")


def test_shell_exports_every_error() -> None:
    """Every error class is importable from shell, so a driver needs one import."""
    for error in (StateUnavailable, InvalidArgumentError, StoreExistsError, UnknownJobError):
        assert getattr(shell, error.__name__) is error
