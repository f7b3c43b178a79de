"""eap-state's pure core: job and budget state as persistent values, and their reducers.

Nothing here touches Ray, a clock, randomness or I/O: timestamps come in as
arguments and every function returns a new value. ``import core`` works
where Ray is not installed.
"""

from core.errors import (
    BudgetError,
    DuplicateTaskError,
    InvalidTaskError,
    InvalidTransitionError,
    InvalidUpdateError,
    StateError,
    StateUnavailable,
    UnknownTaskError,
)
from core.frozen import FrozenDict, freeze, thaw
from core.job import JobExecution, add_task, add_tasks, is_job_complete, new_job, tasks_in_order
from core.job_summary import job_failures, job_results, summarize_job
from core.status import TaskStatus
from core.task import TaskRecord, new_task
from core.updates import TaskUpdate, apply_task_update, apply_task_updates, parse_update

__all__ = [
    "BudgetError",
    "DuplicateTaskError",
    "FrozenDict",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "JobExecution",
    "StateError",
    "StateUnavailable",
    "TaskRecord",
    "TaskStatus",
    "TaskUpdate",
    "UnknownTaskError",
    "add_task",
    "add_tasks",
    "apply_task_update",
    "apply_task_updates",
    "freeze",
    "is_job_complete",
    "job_failures",
    "job_results",
    "new_job",
    "new_task",
    "parse_update",
    "summarize_job",
    "tasks_in_order",
    "thaw",
]
