"""The store over HTTP (issue 14): 8 clients through Serve's ingress vs the Python API.

Each of 8 concurrent clients owns its own tasks of one job and repeats:
POST a batch of 100 updates to ``/jobs/{id}/updates``, then GET the job's
summary with ``If-None-Match`` (a poll). The same workload then runs
through the Python API (`AsyncStateStore`, one coroutine per client, in one
event loop). Reported: updates per second, p50/p99 latency of a batch and of
a poll, and whether every update was kept. Goal on 2 cores: >= 20,000
updates/s over HTTP, p99 < 100 ms.

Serve's ingress is the cluster's, chosen when Ray starts
(`shell.service._ingress`): ``python -m bench`` and ``python -m
bench.service_http`` start Ray with its HAProxy ingress unless given
``--serve-ingress proxy``. The clients are aiohttp's (its HTTP parser is C):
they share the 2 cores with the server they measure, so their own cost counts.

``python -m bench.service_http [--quick] [--serve-ingress proxy]`` prints the section alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.report import Section

__all__ = ["run"]

CLIENTS = 8
BATCH = 100
AGENTS = [{"name": "a", "price": 1}]
NAMESPACE = "eap-state-bench"
_INGRESS_LABELS = {"haproxy": "Serve's HAProxy ingress", "proxy": "Serve's Python proxy"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _batches(client: int, rounds: int) -> list[list[dict[str, Any]]]:
    """Client ``client``'s batches: its tasks go running, then completed, 100 updates a batch."""
    tasks = [f"c{client}-t{i}" for i in range(rounds * BATCH // 2)]
    updates = [{"task_id": t, "status": s} for t in tasks for s in ("running", "completed")]
    return [updates[i : i + BATCH] for i in range(0, len(updates), BATCH)]


def _tasks(rounds: int) -> list[dict[str, Any]]:
    return [
        {"task_id": f"c{c}-t{i}", "agent_name": "a"}
        for c in range(CLIENTS)
        for i in range(rounds * BATCH // 2)
    ]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _http_workload(url: str, token: str, job_id: str, rounds: int) -> dict[str, Any]:
    posts: list[float] = []
    polls: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def client(index: int) -> None:
        etag = ""
        # One keep-alive connection per client, as one process of a real caller would hold.
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(url, headers=headers, connector=connector) as http:
            for batch in _batches(index, rounds):
                start = time.perf_counter()
                async with http.post(f"/jobs/{job_id}/updates", json=batch) as reply:
                    body = await reply.read()
                posts.append(time.perf_counter() - start)
                assert reply.status == 200, body
                start = time.perf_counter()
                async with http.get(f"/jobs/{job_id}", headers={"If-None-Match": etag}) as reply:
                    await reply.read()
                polls.append(time.perf_counter() - start)
                assert reply.status in (200, 304), reply.status
                etag = reply.headers["etag"]

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return {"seconds": time.perf_counter() - start, "posts": posts, "polls": polls}


async def _python_workload(store: Any, job_id: str, rounds: int) -> dict[str, Any]:
    posts: list[float] = []
    polls: list[float] = []

    async def client(index: int) -> None:
        version = None
        for batch in _batches(index, rounds):
            start = time.perf_counter()
            await store.update_tasks(job_id, batch)
            posts.append(time.perf_counter() - start)
            start = time.perf_counter()
            version, _ = await store.poll_job(job_id, version)
            polls.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return {"seconds": time.perf_counter() - start, "posts": posts, "polls": polls}


def _row(label: str, figures: dict[str, Any], updates: int, kept: bool) -> list[Any]:
    ms = 1000.0
    return [
        label,
        f"{updates / figures['seconds']:,.0f}",
        f"{statistics.median(figures['posts']) * ms:.1f}",
        f"{_pct(figures['posts'], 0.99) * ms:.1f}",
        f"{statistics.median(figures['polls']) * ms:.1f}",
        f"{_pct(figures['polls'], 0.99) * ms:.1f}",
        "yes" if kept else "NO",
    ]


def run(quick: bool) -> list[Section]:
    """Measure the HTTP and the Python path on the same workload; return one section."""
    from ray import serve

    from shell.aio import AsyncStateStore
    from shell.service import app, ingress_of
    from shell.store import StateStore

    rounds = 20 if quick else 60
    updates = CLIENTS * rounds * BATCH
    write, read = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    store = StateStore.create(None, AGENTS, name=name, namespace=NAMESPACE)
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "tokens"
        token_file.write_text(f"write = {write}\nread = {read}\n")
        serve.run(
            app({"store_name": name, "namespace": NAMESPACE, "token_file": str(token_file)}),
            name="bench-service",
            route_prefix="/",
        )
    url = f"http://127.0.0.1:{port}"
    try:
        results = {}
        for label in ("http", "python"):
            job_id = store.create_job("bench", f"{label}-{uuid.uuid4().hex[:6]}")
            tasks = _tasks(rounds)
            for i in range(0, len(tasks), 5000):
                store.add_tasks(job_id, tasks[i : i + 5000])
            if label == "http":
                figures = asyncio.run(_http_workload(url, write, job_id, rounds))
            else:

                async def python(job_id: str = job_id) -> dict[str, Any]:
                    handle = await AsyncStateStore.connect(name, NAMESPACE)
                    return await _python_workload(handle, job_id, rounds)

                figures = asyncio.run(python())
            summary = store.job_summary(job_id)
            figures["kept"] = summary["completed_tasks"] == len(tasks) == summary["total_tasks"]
            results[label] = figures
    finally:
        serve.delete("bench-service")
        serve.shutdown()  # type: ignore[no-untyped-call]
        store.shutdown()

    ingress_label = _INGRESS_LABELS[ingress_of(os.environ)]
    http = results["http"]
    rate = updates / http["seconds"]
    p99 = _pct(http["posts"], 0.99)
    section = Section(
        key="service_http",
        title="The store over HTTP: 8 clients through Serve's ingress vs the Python API",
        intro=(
            f"{CLIENTS} concurrent clients each POST {rounds} batches of {BATCH} task updates "
            "(their own tasks: running, then completed) and GET the job summary with "
            f"If-None-Match after each batch, through {ingress_label} on localhost "
            "(aiohttp clients in one event loop, one keep-alive connection each). The same "
            "workload runs through `AsyncStateStore` in one event loop. Goal: >= 20,000 "
            "updates/s over HTTP with a p99 batch latency under 100 ms."
        ),
        headers=[
            "path",
            "updates/s",
            "batch p50 ms",
            "batch p99 ms",
            "poll p50 ms",
            "poll p99 ms",
            "every update kept",
        ],
        rows=[
            _row(f"HTTP ({ingress_label})", http, updates, http["kept"]),
            _row("Python (AsyncStateStore)", results["python"], updates, results["python"]["kept"]),
        ],
        verdicts=[
            (f"HTTP >= 20,000 updates/s (measured {rate:,.0f})", rate >= 20_000),
            (f"HTTP batch p99 < 100 ms (measured {p99 * 1000:.1f} ms)", p99 < 0.1),
            ("every update kept, both paths", http["kept"] and results["python"]["kept"]),
        ],
        data={
            label: {
                "updates_per_s": updates / f["seconds"],
                "batch_p50_s": statistics.median(f["posts"]),
                "batch_p99_s": _pct(f["posts"], 0.99),
                "poll_p50_s": statistics.median(f["polls"]),
                "poll_p99_s": _pct(f["polls"], 0.99),
            }
            for label, f in results.items()
        },
    )
    return [section]


if __name__ == "__main__":
    import ray

    from shell.service import INGRESSES, ingress_environment

    parser = argparse.ArgumentParser(prog="python -m bench.service_http")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-ingress", choices=INGRESSES, default="haproxy")
    options = parser.parse_args()
    # Serve's processes read it when they start: set before Ray starts them.
    os.environ.update(ingress_environment(options.serve_ingress, os.environ))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for part in run(quick=options.quick):
            print(part.to_markdown())
    finally:
        ray.shutdown()
