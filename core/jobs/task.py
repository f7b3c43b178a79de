"""The agent task record: one paid job submitted to one agent."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from core.batch_args import check_keys, item_ident, item_list, plain_mapping
from core.errors import InvalidTaskError, StateError, describe
from core.frozen import freeze
from core.jobs.ids import check_id
from core.jobs.status import TaskStatus
from core.timestamps import epoch_seconds

__all__ = [
    "TASK_SPEC_KEYS",
    "TaskRecord",
    "check_record",
    "iter_task_records",
    "new_task",
    "task_from_spec",
]

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
    check_id(task_id, "task_id", InvalidTaskError)
    check_id(agent_name, "agent_name", InvalidTaskError)
    if isinstance(round, bool) or not isinstance(round, int) or round < 1:
        raise InvalidTaskError(
            f"round must be an int >= 1, got {describe(round)}", field="round", value=round
        )
    return TaskRecord(
        task_id,
        agent_name,
        freeze(input_data, "input_data", InvalidTaskError),
        TaskStatus.PENDING,
        round=round,
    )


def task_from_spec(spec: TaskRecord | Mapping[str, Any]) -> TaskRecord:
    """Return a task from a `TaskRecord` or a mapping of `new_task`'s arguments.

    A record passed in keeps its status and timestamps, checked field by
    field like a spec (see `check_record`); a mapping makes a pending task.

    Raises:
        InvalidTaskError: the spec is neither, has unknown keys, or fails `new_task`'s checks.
    """
    if isinstance(spec, TaskRecord):
        return check_record(spec)
    data = plain_mapping(spec, "task", InvalidTaskError)
    check_keys(data, TASK_SPEC_KEYS, ("task_id", "agent_name"), "task", InvalidTaskError)
    return new_task(
        data["task_id"], data["agent_name"], data.get("input_data"), data.get("round", 1)
    )


def iter_task_records(specs: Iterable[TaskRecord | Mapping[str, Any]]) -> Iterator[TaskRecord]:
    """Yield a validated record per spec, in order, one at a time.

    Lazy on purpose: a caller checking each record as it comes (for duplicates,
    say) reports the first bad item in order, as adding one at a time would.

    Raises:
        InvalidTaskError: ``specs`` is not a batch, or a spec is malformed; the
            message names its position and id.
    """
    for index, spec in enumerate(
        item_list(specs, "tasks", InvalidTaskError, "tasks", (TaskRecord,))
    ):
        try:
            yield task_from_spec(spec)
        except StateError as err:
            raise err.in_batch(index, item_ident(spec, "task_id"), item="task") from err


def check_record(record: TaskRecord) -> TaskRecord:
    """Return a record built by hand once it holds only what the reducers could have made.

    Each field is checked as `new_task` and `core.jobs.task_update.parse_update`
    check it: ids and round as for a spec, a `TaskStatus`, task data frozen
    (a list becomes a tuple, as in a spec), ``error`` a str or None,
    timestamps finite epoch seconds or None. O(size of its data).

    Returns:
        ``record`` itself when nothing needed freezing or converting, else the checked copy.

    Raises:
        InvalidTaskError: naming the first bad field and its value.
    """
    task_id, agent_name, input_data, status, result, error, started_at, completed_at, round_no = (
        record
    )
    checked = new_task(task_id, agent_name, input_data, round_no)
    if not isinstance(status, TaskStatus):
        raise InvalidTaskError(
            f"status must be a TaskStatus, got {describe(status)}", field="status", value=status
        )
    if error is not None and not isinstance(error, str):
        raise InvalidTaskError(
            f"error must be a str or None, got {describe(error)}", field="error", value=error
        )
    fields = (
        task_id,
        agent_name,
        checked.input_data,
        status,
        freeze(result, "result", InvalidTaskError),
        error,
        epoch_seconds(started_at, "started_at", InvalidTaskError),
        epoch_seconds(completed_at, "completed_at", InvalidTaskError),
        round_no,
    )
    if all(map(operator.is_, fields, record)):
        return record
    return TaskRecord(*fields)
