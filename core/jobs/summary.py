"""Projections of a job: its summary and its results."""

from __future__ import annotations

from typing import Any

from core.batch_args import check_state
from core.frozen import thaw
from core.jobs.job import STATUS_KEYS, JobExecution, is_job_complete
from core.jobs.status import TaskStatus
from core.jobs.task import TaskRecord

__all__ = ["job_failures", "job_results", "summarize_job"]


def summarize_job(job: JobExecution) -> dict[str, Any]:
    """Return a small summary of the job, in O(rounds) whatever its number of tasks.

    Returns:
        A fresh dict with ``job_id``, ``description``, ``total_tasks``,
        ``pending_tasks``, ``running_tasks``, ``completed_tasks``,
        ``failed_tasks``, ``is_complete``, ``created_at``, ``completed_at``,
        ``duration`` (seconds from creation to completion, or None) and
        ``rounds`` (round -> counts per status and ``total``, ascending).
    """
    check_state(job, JobExecution, "job")
    counts = job.status_counts
    duration = None
    if job.created_at is not None and job.completed_at is not None:
        duration = job.completed_at - job.created_at
    rounds = {}
    for round_no in sorted(job.round_counts):
        per_status = job.round_counts[round_no]
        entry = {key: per_status[key] for key in STATUS_KEYS}
        entry["total"] = sum(entry.values())
        rounds[round_no] = entry
    return {
        "job_id": job.job_id,
        "description": job.description,
        "total_tasks": len(job.tasks),
        "pending_tasks": counts["pending"],
        "running_tasks": counts["running"],
        "completed_tasks": counts["completed"],
        "failed_tasks": counts["failed"],
        "is_complete": is_job_complete(job),
        "created_at": job.created_at,
        "completed_at": job.completed_at,
        "duration": duration,
        "rounds": rounds,
    }


def _task_row(task: TaskRecord) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "agent_name": task.agent_name,
        "input_data": thaw(task.input_data),
        "round": task.round,
        "started_at": task.started_at,
        "completed_at": task.completed_at,
        "duration": task.duration,
    }


def job_results(job: JobExecution) -> list[dict[str, Any]]:
    """Return one row per completed task, in insertion order.

    Each row has ``task_id``, ``agent_name``, ``input_data``, ``result``,
    ``round``, ``started_at``, ``completed_at`` and ``duration`` (None when the
    task never reported running). Values are plain, mutable copies.
    """
    check_state(job, JobExecution, "job")
    rows = []
    for task in job.tasks.records:
        if task.status is TaskStatus.COMPLETED:
            row = _task_row(task)
            row["result"] = thaw(task.result)
            rows.append(row)
    return rows


def job_failures(job: JobExecution) -> list[dict[str, Any]]:
    """Return one row per failed task, in insertion order, with its ``error``."""
    check_state(job, JobExecution, "job")
    rows = []
    for task in job.tasks.records:
        if task.status is TaskStatus.FAILED:
            row = _task_row(task)
            row["error"] = task.error
            rows.append(row)
    return rows
