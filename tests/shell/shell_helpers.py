"""Helpers shared by the shell's tests."""

from __future__ import annotations

import uuid
from typing import Any

from shell import StateManager, reset_ray_op_counts


def put_job(n: int = 3, agent_name: str = "perplexity") -> Any:
    """Put a job with tasks t0..t{n-1} and return its ref, with Ray-op counts reset."""
    _, ref = StateManager.create_job_execution("audience", job_id=f"job-{uuid.uuid4().hex}")
    ref = StateManager.add_agent_tasks(
        ref, [{"task_id": f"t{i}", "agent_name": agent_name} for i in range(n)]
    )
    reset_ray_op_counts()
    return ref
