"""Job state: tasks, their lifecycle, batches of status updates and the job's summary.

A job is a `JobExecution` value; every change is a reducer that returns a new one
(`add_tasks`, `apply_task_updates`), and `summarize_job` projects it in O(rounds).
"""

from core.jobs.job import (
    JobExecution,
    add_task,
    add_tasks,
    is_job_complete,
    new_job,
    tasks_in_order,
)
from core.jobs.reducers import TaskUpdates, apply_task_update, apply_task_updates
from core.jobs.status import TaskStatus
from core.jobs.summary import job_failures, job_results, summarize_job
from core.jobs.task import TaskRecord, new_task
from core.jobs.task_update import TaskUpdate, parse_update
from core.jobs.update_batch import UpdateBatch, parse_updates

__all__ = [
    "JobExecution",
    "TaskRecord",
    "TaskStatus",
    "TaskUpdate",
    "TaskUpdates",
    "UpdateBatch",
    "add_task",
    "add_tasks",
    "apply_task_update",
    "apply_task_updates",
    "is_job_complete",
    "job_failures",
    "job_results",
    "new_job",
    "new_task",
    "parse_update",
    "parse_updates",
    "summarize_job",
    "tasks_in_order",
]
