"""Task status values and the lifecycle they may move through."""

from __future__ import annotations

from enum import Enum

from core.errors import InvalidTransitionError, InvalidUpdateError, describe

__all__ = [
    "ALLOWED_TRANSITIONS",
    "STATUS_BY_VALUE",
    "TERMINAL_STATUSES",
    "TaskStatus",
    "check_transition",
    "parse_status",
]


class TaskStatus(str, Enum):
    """Where an agent task is in its life; a ``str`` so plain strings compare equal."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """True for completed and failed: nothing follows them."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED})

ALLOWED_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED}),
    TaskStatus.RUNNING: frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
}

STATUS_BY_VALUE: dict[str, TaskStatus] = {s.value: s for s in TaskStatus}


def parse_status(value: object, field: str = "status") -> TaskStatus:
    """Return the `TaskStatus` for a status or its string value.

    Raises:
        InvalidUpdateError: ``value`` is not one of pending, running, completed, failed.
    """
    if isinstance(value, str):
        status = STATUS_BY_VALUE.get(value)
        if status is not None:
            return status
    raise InvalidUpdateError(
        f"{field} must be one of {sorted(STATUS_BY_VALUE)}, got {describe(value)}",
        field=field,
        value=value,
    )


def check_transition(task_id: str, current: TaskStatus, new: TaskStatus) -> None:
    """Raise unless a task may move from ``current`` to ``new``; repeating ``current`` is allowed.

    Raises:
        InvalidTransitionError: the lifecycle forbids the move (e.g. completed -> running).
    """
    if new is current or new in ALLOWED_TRANSITIONS[current]:
        return
    raise InvalidTransitionError(
        f"task {describe(task_id)} cannot move from {current.value!r} to {new.value!r}",
        field="status",
        value=new.value,
    )
