"""The live page in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from service_helpers import Service

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for the module (the Makefile's `browser` target installs it)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def test_page_signs_in_lists_jobs_shows_budget_and_follows_updates(
    service: Service, browser: Any
) -> None:
    """The page signs in with the read token, lists jobs and budget, shows a write within 1 s."""
    job_id = service.new_job(3)
    service.write(
        "/budget/costs",
        [
            {
                "agent_name": "survey-panel",
                "job_id": "page-paid",
                "expected": "2.50",
                "actual": "2.75",
            }
        ],
    )
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(service.url + "/")
    page.fill("#token", service.read_token)
    page.click("button[type=submit]")
    card = page.locator(f'[data-job-id="{job_id}"]')
    card.wait_for(timeout=10_000)
    errors.clear()  # the sign-in form itself is a 401, which chromium logs
    assert card.locator(".pending").inner_text() == "3"
    agent = page.locator('[data-agent="survey-panel"]')
    agent.wait_for(timeout=10_000)
    assert agent.locator("td").all_inner_texts() == [
        "survey-panel",
        "10.00",
        "2.75",
        "0.00",
        "7.25",
        "2.50",
    ]
    page.wait_for_function(
        "() => document.getElementById('live').className === 'on'", timeout=10_000
    )
    written = time.monotonic()
    service.write(f"/jobs/{job_id}/updates", [{"task_id": "t0", "status": "completed"}])
    page.wait_for_function(
        f"() => document.querySelector('[data-job-id=\"{job_id}\"] .completed')"
        ".textContent === '1'",
        timeout=1000,
    )
    assert time.monotonic() - written < 1.0
    assert page.locator("#burn polyline").count() >= 1
    assert errors == []
    page.close()
