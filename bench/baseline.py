"""The unoptimized pattern eap-state replaces, written out so benchmarks compare like with like.

Mutable dict state in Ray's object store; every single update is one
``ray.get`` plus one ``ray.put`` of the whole job; every status check is a
full ``ray.get`` and a recount over all tasks. This is what a driver does
without a cache, batching or incremental counts. It counts its own Ray
operations, separately from `shell.ray_op_counts`.
"""

from __future__ import annotations

from typing import Any

import ray

__all__ = ["BaselineJobManager", "baseline_op_counts", "plain_job", "reset_baseline_op_counts"]

_counts = {"get": 0, "put": 0}


def baseline_op_counts() -> dict[str, int]:
    """Return the baseline's own ``{"get": n, "put": m}``."""
    return dict(_counts)


def reset_baseline_op_counts() -> None:
    """Zero the baseline's counts."""
    _counts["get"] = _counts["put"] = 0


def _get(ref: Any) -> Any:
    _counts["get"] += 1
    return ray.get(ref)


def _put(value: Any) -> Any:
    _counts["put"] += 1
    return ray.put(value)


def plain_job(job_id: str, n_tasks: int, input_data: Any = None) -> dict[str, Any]:
    """Return a job as a plain dict with the same fields as `core.jobs.job.JobExecution`."""
    tasks = {
        f"t{i}": {
            "task_id": f"t{i}",
            "agent_name": "agent",
            "input_data": None if input_data is None else dict(input_data, i=i),
            "status": "pending",
            "result": None,
            "error": None,
            "started_at": None,
            "completed_at": None,
            "round": 1,
        }
        for i in range(n_tasks)
    }
    return {
        "job_id": job_id,
        "description": "audience",
        "created_at": 0.0,
        "completed_at": None,
        "tasks": tasks,
        "task_order": list(tasks),
    }


class BaselineJobManager:
    """Single updates and uncached, recounted status checks on mutable dict state."""

    @staticmethod
    def create_job(job_id: str, n_tasks: int, input_data: Any = None) -> Any:
        """Put a fresh job with ``n_tasks`` pending tasks; return its ref."""
        return _put(plain_job(job_id, n_tasks, input_data))

    @staticmethod
    def update_task(
        ref: Any, task_id: str, status: str, result: Any = None, at: float | None = None
    ) -> Any:
        """Fetch the whole job, change one task in place, put the whole job back."""
        job = _get(ref)
        task = job["tasks"][task_id]
        if task["status"] in ("completed", "failed"):
            raise ValueError(f"task {task_id!r} is already {task['status']}")
        task["status"] = status
        if result is not None:
            task["result"] = result
        if status == "running":
            task["started_at"] = at
        elif status in ("completed", "failed"):
            task["completed_at"] = at
        return _put(job)

    @staticmethod
    def get_job_summary(ref: Any) -> dict[str, Any]:
        """Fetch the whole job and count its tasks by status."""
        job = _get(ref)
        counts = {"pending": 0, "running": 0, "completed": 0, "failed": 0}
        for task in job["tasks"].values():
            counts[task["status"]] += 1
        total = len(job["tasks"])
        return {
            "job_id": job["job_id"],
            "total_tasks": total,
            "completed_tasks": counts["completed"],
            "failed_tasks": counts["failed"],
            "is_complete": total > 0 and counts["pending"] + counts["running"] == 0,
        }
