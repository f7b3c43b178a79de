"""Fault scenarios that need a Ray of their own, run as a script by test_store_faults.py.

``python fault_scenarios.py JOURNAL_URL`` prints one JSON line with what it
observed. A whole-cluster restart and a multi-node cluster cannot share the
test session's Ray, so they run in a process of their own (one, as each
``ray.init`` costs seconds).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any

AGENTS = [{"name": "a", "price": 1}]


def writers(store: Any, count: int, tasks: int, prefix: str) -> dict[str, Any]:
    """Run ``count`` writer threads: per task a running update, a reservation, a completion."""
    errors: list[str] = []
    grants: list[bool] = []

    def write(w: int) -> None:
        try:
            job_id = store.create_job("d", job_id=f"{prefix}{w}")
            store.add_tasks(job_id, [{"task_id": f"t{i}", "agent_name": "a"} for i in range(tasks)])
            for i in range(tasks):
                store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "running"}])
                grants.append(store.reserve("a", reservation_id=f"{prefix}{w}-{i}").can_afford)
                store.update_tasks(job_id, [{"task_id": f"t{i}", "status": "completed"}])
        except Exception as err:
            errors.append(repr(err))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(count)]
    for thread in threads:
        thread.start()
    return {"threads": threads, "errors": errors, "grants": grants}


def outcome(store: Any, run: dict[str, Any], prefix: str, count: int) -> dict[str, Any]:
    """Wait for the writers and report what the store holds."""
    for thread in run["threads"]:
        thread.join()
    return {
        "errors": run["errors"],
        "granted": sum(run["grants"]),
        "asked": len(run["grants"]),
        "reserved": str(store.budget_summary()["total_reserved"]),
        "completed": [store.job_summary(f"{prefix}{w}")["completed_tasks"] for w in range(count)],
    }


def restart_then_node_loss(journal: str) -> dict[str, Any]:
    """Stop a whole Ray, recover on a new multi-node one, then lose the store's node mid-run.

    Phase 1, a local Ray: writers, then ``ray.shutdown()``. Phase 2, a head and
    two nodes (``ray.cluster_utils.Cluster``): `StateStore.recover` must give the
    same summaries and budget; then 8 writers run while the node hosting the
    store is removed, and the store must come back on the other node.
    """
    import ray
    from ray.cluster_utils import Cluster

    from shell.store import StateStore

    name = f"faults-{uuid.uuid4().hex[:8]}"
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    store = StateStore.create(
        {"total_budget": 55}, AGENTS, name=name, journal=journal, snapshot_every=7
    )
    first_run = outcome(store, writers(store, 4, 3, "a"), "a", 4)
    budget = store.budget_summary()
    summaries = [store.job_summary(f"a{w}") for w in range(4)]
    ray.shutdown()

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    host = cluster.add_node(num_cpus=1, resources={"store_host": 1})
    ray.init(address=cluster.address, log_to_driver=False)
    # The store needs a "store_host" node: only one exists when it starts.
    placement = {"resources": {"store_host": 0.01}}
    store = StateStore.recover(name, journal, actor_options=placement, snapshot_every=50)
    same = store.budget_summary() == budget and summaries == [
        store.job_summary(f"a{w}") for w in range(4)
    ]
    first_pid = store.info()["pid"]
    cluster.add_node(num_cpus=1, resources={"store_host": 1})
    cluster.wait_for_nodes()
    run = writers(store, 8, 10, "b")
    time.sleep(0.3)
    started = time.monotonic()
    cluster.remove_node(host)
    info = store.info()
    back_after = time.monotonic() - started
    result = outcome(store, run, "b", 8)
    result.update(
        first_run=first_run,
        same_after_restart=same,
        moved=info["pid"] != first_pid,
        recoveries=info["recoveries"],
        back_after=back_after,
    )
    store.shutdown()
    ray.shutdown()
    cluster.shutdown()
    return result


if __name__ == "__main__":
    print(json.dumps(restart_then_node_loss(sys.argv[1])))
