"""After ``ray.shutdown()`` every shell call says Ray is not running, and none starts Ray again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run in a child process: shutting Ray down here would end the session's Ray for every test.
_SCRIPT = """
import json, ray
from shell import BudgetManager, StateBatcher, StateCache, StateManager, StateStore
from shell.managers import default_cache

ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
_, job_ref = StateManager.create_job_execution("d", job_id="j")
job_ref = StateManager.add_agent_task(job_ref, {"task_id": "t", "agent_name": "a"})
budget_ref = BudgetManager.initialize_budget(None, [{"name": "a", "price": "1"}])
store = StateStore.create(None, [{"name": "a"}])
store.create_job("d", "j")
batcher = StateBatcher(clock=lambda: 1.0)
batcher.add_task_update("t", "running")
ray.shutdown()
default_cache().invalidate()  # cached reads need no Ray; these calls must reach it
calls = {
    "create_job_execution": lambda: StateManager.create_job_execution("d"),
    "get_job_execution": lambda: StateManager.get_job_execution(job_ref),
    "batch_update_tasks": lambda: StateManager.batch_update_tasks(
        job_ref, [{"task_id": "t", "status": "running"}]
    ),
    "initialize_budget": lambda: BudgetManager.initialize_budget(None, []),
    "check_and_reserve_budget": lambda: BudgetManager.check_and_reserve_budget(
        budget_ref, "a", None
    ),
    "cache_get": lambda: StateCache().get(job_ref),
    "batcher_flush": lambda: batcher.flush_task_updates(job_ref),
    "store_job_summary": lambda: store.job_summary("j"),
    "store_reserve": lambda: store.reserve("a"),
    "store_create": lambda: StateStore.create(None, []),
    "store_connect": lambda: StateStore.connect("x"),
    "store_shutdown": lambda: store.shutdown(),
}
out = {}
for name, call in calls.items():
    try:
        call()
        out[name] = ["returned", "", ray.is_initialized()]
    except Exception as err:
        out[name] = [type(err).__name__, str(err), ray.is_initialized()]
    if ray.is_initialized():
        ray.shutdown()
out["still_queued"] = len(batcher)
print(json.dumps(out))
"""


def test_every_shell_call_after_ray_shutdown_is_state_unavailable_and_starts_no_ray() -> None:
    """Managers, cache, batcher and store raise StateUnavailable saying Ray is not running."""
    pytest.importorskip("ray")
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out.pop("still_queued") == 1
    for name, (kind, message, ray_started) in out.items():
        assert kind == "StateUnavailable", (name, kind, message)
        assert "Ray is not running" in message, (name, message)
        assert ray_started is False, f"{name} started a Ray"
