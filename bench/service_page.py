"""Not a benchmark: plays the demo's research run over HTTP and screenshots the live page.

``python -m bench.service_page [--output docs/service-page.png]``. Serves a
store made from the demo's agents file, opens the page in headless chromium
(signed in with the read token), then plays the demo's plan through the JSON
API as agent drivers would: round 1, then a refinement round, each task
reserved, run (outcomes drawn by the demo's own seeded simulation), updated
and billed, with a third job left mid-run. The screenshot is taken at the end.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from shell.demo.config import load_config
from shell.demo.plan import plan_first_round
from shell.demo.simulation import draw_outcome

NAMESPACE = "eap-state-page"
SEED = 7
_PAUSE = 0.12  # between tasks, so the burn-down has a shape


def _play(http: httpx.Client, config: Any, job_id: str, tasks: list[Any], finish: bool) -> None:
    http.post(f"/jobs/{job_id}/tasks", json=[t.spec(config.description) for t in tasks])
    for index, task in enumerate(tasks):
        if not finish and index >= len(tasks) // 2:
            http.post(
                f"/jobs/{job_id}/updates", json=[{"task_id": task.task_id, "status": "running"}]
            )
            continue
        grant = http.post(
            "/budget/reservations",
            json={"agent_name": task.agent_name, "reservation_id": f"{job_id}/{task.task_id}"},
        ).json()
        if not grant["granted"]:
            update = {"task_id": task.task_id, "status": "failed", "error": grant["reason"]}
            http.post(f"/jobs/{job_id}/updates", json=[update])
            continue
        outcome = draw_outcome(SEED, task.task_id, config.agent(task.agent_name))
        http.post(f"/jobs/{job_id}/updates", json=[{"task_id": task.task_id, "status": "running"}])
        final = (
            {"task_id": task.task_id, "status": "completed", "result": outcome.result}
            if outcome.ok
            else {"task_id": task.task_id, "status": "failed", "error": outcome.error}
        )
        http.post(f"/jobs/{job_id}/updates", json=[final])
        record = {
            "agent_name": task.agent_name,
            "job_id": f"{job_id}/{task.task_id}",
            "expected": grant["expected_cost"],
            "actual": str(outcome.cost),
        }
        http.post("/budget/costs", json=[record])
        time.sleep(_PAUSE)


def main(argv: list[str] | None = None) -> int:
    """Play the run and write the screenshot; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench.service_page", description=__doc__)
    parser.add_argument("--output", default="docs/service-page.png")
    args = parser.parse_args(argv)

    import ray
    from playwright.sync_api import sync_playwright
    from ray import serve

    from shell.service import app
    from shell.store import StateStore

    config = load_config(None)
    write, read = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    name = f"page-{uuid.uuid4().hex[:6]}"
    store = StateStore.create(
        config.budget_config(), config.agents_config(), name=name, namespace=NAMESPACE
    )
    serve.start(http_options={"host": "127.0.0.1", "port": 8000})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tokens = Path(tmp) / "tokens"
            tokens.write_text(f"write = {write}\nread = {read}\n")
            serve.run(
                app({"store_name": name, "namespace": NAMESPACE, "token_file": str(tokens)}),
                route_prefix="/",
            )
        url = "http://127.0.0.1:8000"
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with (
            sync_playwright() as playwright,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {write}"}, timeout=30
            ) as http,
        ):
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": 1366, "height": 860})
            page.goto(url + "/")
            page.fill("#token", read)
            page.click("button[type=submit]")
            page.wait_for_selector("#live.on")
            first = plan_first_round(config, 16)
            refinement = [
                replace(task, round=2)
                for task in first.tasks
                if task.agent_name in {"survey-panel", "trend-analyst"}
            ]
            plays = [
                ("audience-research", first.tasks, True),
                ("refinement", refinement, True),
                ("follow-up", first.tasks[:10], False),
            ]
            for job_id, tasks, finish in plays:
                http.post("/jobs", json={"description": config.description, "job_id": job_id})
                _play(http, config, job_id, list(tasks), finish)
            time.sleep(1.5)
            page.screenshot(path=args.output, full_page=True)
            browser.close()
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
        store.shutdown()
        ray.shutdown()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
