"""The agent task record: one paid job submitted to one agent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from core.errors import InvalidTaskError, StateError
from core.frozen import freeze
from core.jobs.status import TaskStatus

__all__ = ["TASK_SPEC_KEYS", "TaskRecord", "iter_task_records", "new_task", "task_from_spec"]

TASK_SPEC_KEYS = frozenset({"task_id", "agent_name", "input_data", "round"})


class TaskRecord(NamedTuple):
    """An immutable agent task; make one with `new_task`.

    ``input_data`` and ``result`` are deep-frozen. Timestamps are epoch
    seconds supplied by the caller (the core never reads a clock).
    """

    task_id: str
    agent_name: str
    input_data: Any = None
    status: TaskStatus = TaskStatus.PENDING
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    round: int = 1

    @property
    def duration(self) -> float | None:
        """Seconds from start (or nothing) to completion, when both are known."""
        if self.started_at is None or self.completed_at is None:
            return None
        return self.completed_at - self.started_at


def new_task(task_id: str, agent_name: str, input_data: Any = None, round: int = 1) -> TaskRecord:
    """Return a validated pending task.

    Args:
        task_id: Non-empty identifier, unique within its job.
        agent_name: Non-empty name of the agent that will run the task.
        input_data: What the agent is asked; deep-frozen.
        round: Planning round, an int >= 1.

    Raises:
        InvalidTaskError: a field has the wrong type or value.
    """
    if not isinstance(task_id, str) or not task_id:
        raise InvalidTaskError(
            f"task_id must be a non-empty str, got {task_id!r}", field="task_id", value=task_id
        )
    if not isinstance(agent_name, str) or not agent_name:
        raise InvalidTaskError(
            f"agent_name must be a non-empty str, got {agent_name!r}",
            field="agent_name",
            value=agent_name,
        )
    if isinstance(round, bool) or not isinstance(round, int) or round < 1:
        raise InvalidTaskError(
            f"round must be an int >= 1, got {round!r}", field="round", value=round
        )
    return TaskRecord(task_id, agent_name, freeze(input_data), TaskStatus.PENDING, round=round)


def task_from_spec(spec: TaskRecord | Mapping[str, Any]) -> TaskRecord:
    """Return a task from a `TaskRecord` or a mapping of `new_task`'s arguments.

    A record passed in keeps its status and timestamps; a mapping makes a pending task.

    Raises:
        InvalidTaskError: the spec is neither, has unknown keys, or fails `new_task`'s checks.
    """
    if isinstance(spec, TaskRecord):
        _check_record(spec)
        return spec
    if not isinstance(spec, Mapping):
        raise InvalidTaskError(
            f"task must be a TaskRecord or a mapping, got {type(spec).__name__}: {spec!r}",
            field="task",
            value=spec,
        )
    unknown = set(spec) - TASK_SPEC_KEYS
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise InvalidTaskError(
            f"unknown task key {key!r}; allowed keys are {sorted(TASK_SPEC_KEYS)}",
            field=key,
            value=spec[key],
        )
    for key in ("task_id", "agent_name"):
        if key not in spec:
            raise InvalidTaskError(f"task is missing required key {key!r}", field=key, value=None)
    return new_task(
        spec["task_id"], spec["agent_name"], spec.get("input_data"), spec.get("round", 1)
    )


def iter_task_records(specs: Iterable[TaskRecord | Mapping[str, Any]]) -> Iterator[TaskRecord]:
    """Yield a validated record per spec, in order, one at a time.

    Lazy on purpose: a caller checking each record as it comes (for duplicates,
    say) reports the first bad item in order, as adding one at a time would.

    Raises:
        InvalidTaskError: a spec is malformed; the message names its position and id.
    """
    for index, spec in enumerate(specs):
        try:
            yield task_from_spec(spec)
        except StateError as err:
            task_id = spec.task_id if isinstance(spec, TaskRecord) else None
            if isinstance(spec, Mapping):
                task_id = spec.get("task_id")
            raise err.in_batch(index, task_id, item="task") from err


def _check_record(record: TaskRecord) -> None:
    """Raise unless a record built by hand holds what `new_task` would allow."""
    new_task(record.task_id, record.agent_name, None, record.round)
    if not isinstance(record.status, TaskStatus):
        raise InvalidTaskError(
            f"status must be a TaskStatus, got {record.status!r}",
            field="status",
            value=record.status,
        )
