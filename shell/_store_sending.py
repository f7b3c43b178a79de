"""How a store handle's request travels and fails: the part the sync and async handles share.

A `StoreRequest` names the actor method, its arguments and, for a change, its
``command_id``. `send_error` is the one translation of a failed send into the
caller's error, whether the handle waited with ``ray.get`` or ``await``.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple, NoReturn

from ray import exceptions as ray_exceptions

from core.errors import StateError, describe
from shell._ids import fresh_id
from shell.errors import OutcomeUnknown, StateUnavailable
from shell.inputs import check_name
from shell.ray_ops import raise_as, translate_ray_error

__all__ = [
    "StoreRequest",
    "check_name",
    "closed_error",
    "new_command_id",
    "raise_send_error",
    "send_error",
]


class StoreRequest(NamedTuple):
    """One call to the store actor.

    Attributes:
        method: The `shell.store_actor.StoreCore` method to call.
        args: Its positional arguments, already validated.
        command_id: For a call that changes the store, the id that makes a
            resend apply at most once; None for a read.
    """

    method: str
    args: tuple[Any, ...]
    command_id: str | None = None


def new_command_id(command_id: Any = None) -> str:
    """Return the caller's command id (checked), or a fresh one (32 hex digits) when None.

    Raises:
        InvalidArgumentError: a ``command_id`` that is not a non-empty str.
    """
    return fresh_id() if command_id is None else check_name(command_id, "command_id")


def closed_error(what: str) -> StateUnavailable:
    """Return the error of a call on a handle that was shut down."""
    return StateUnavailable(f"{what} was shut down", field="store", value=what)


def _timed_out(err: BaseException) -> bool:
    if isinstance(err, StateError):
        # ray_get's translation of Ray's GetTimeoutError.
        return type(err) is StateUnavailable and isinstance(
            err.__cause__, ray_exceptions.GetTimeoutError
        )
    return isinstance(err, (asyncio.TimeoutError, TimeoutError))


def send_error(request: StoreRequest | None, err: BaseException, what: str) -> BaseException:
    """Return the exception a caller sees when sending ``request`` to the store ``what`` failed.

    A timeout (Ray's or asyncio's) of a change is `OutcomeUnknown` with its
    ``command_id``, of a read `StateUnavailable`; a library error the actor
    raised comes back as itself; a Ray failure becomes `StateUnavailable`
    naming the store; anything else is returned unchanged (a bug, not an outcome).
    """
    if _timed_out(err):
        if request is not None and request.command_id is not None:
            command_id = request.command_id
            return OutcomeUnknown(
                f"{what} did not answer in time: the change (command_id "
                f"{describe(command_id)}) may or may not have been applied; call again "
                f"with command_id={describe(command_id)} to "
                "apply it at most once and get its reply",
                command_id=command_id,
            )
        return StateUnavailable(f"{what} did not answer in time", field="store", value=what)
    if type(err) is StateUnavailable:
        unavailable = StateUnavailable(f"{what} is unavailable: {err}", field="store", value=what)
        unavailable.__cause__ = err
        return unavailable
    if isinstance(err, StateError):
        return err
    translated = translate_ray_error(err, what)
    if type(translated) is StateUnavailable:
        return send_error(request, translated, what)
    return translated


def raise_send_error(request: StoreRequest | None, err: BaseException, what: str) -> NoReturn:
    """Raise what `send_error` makes of ``err``; call it from the ``except`` that caught it."""
    raise_as(send_error(request, err, what), err)
