"""Every route through real HTTP via the Serve proxy: replies, money, ETags and event streams."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import httpx
from service_helpers import Service, sse_events


def test_create_job_returns_201_with_its_id_and_first_version(service: Service) -> None:
    """POST /jobs creates the job and answers 201 with its id and version 1."""
    reply = service.write("/jobs", {"description": "cyclists", "job_id": "j-create"})
    assert reply.status_code == 201
    assert reply.json() == {"job_id": "j-create", "version": 1}
    assert reply.headers["location"] == "/jobs/j-create"
    assert service.store.poll_job("j-create")[0] == 1


def test_create_job_without_an_id_gets_a_fresh_one(service: Service) -> None:
    """POST /jobs without job_id creates a job under a new id that GET then finds."""
    reply = service.write("/jobs", {"description": "no id"})
    assert reply.status_code == 201
    job_id = reply.json()["job_id"]
    assert service.read(f"/jobs/{job_id}").json()["description"] == "no id"


def test_tasks_and_updates_return_the_new_version(service: Service) -> None:
    """Adding tasks then a batch of updates each bump the version the reply names."""
    job_id = service.new_job()
    tasks = [{"task_id": f"t{i}", "agent_name": "survey-panel"} for i in range(3)]
    assert service.write(f"/jobs/{job_id}/tasks", tasks).json() == {"version": 2}
    updates = [
        {"task_id": "t0", "status": "running"},
        {"task_id": "t0", "status": "completed", "result": {"n": 1}},
        {"task_id": "t1", "status": "failed", "error": "boom"},
    ]
    assert service.write(f"/jobs/{job_id}/updates", updates).json() == {"version": 3}
    summary = service.store.job_summary(job_id)
    assert (summary["completed_tasks"], summary["failed_tasks"], summary["pending_tasks"]) == (
        1,
        1,
        1,
    )


def test_job_summary_is_the_store_summary_with_an_etag(service: Service) -> None:
    """GET /jobs/{id} returns the library's summary, with its version as a quoted ETag."""
    job_id = service.new_job(2, round_no=2)
    reply = service.read(f"/jobs/{job_id}")
    assert reply.status_code == 200
    assert reply.headers["etag"] == '"2"'
    expected = service.store.job_summary(job_id)
    expected["rounds"] = {str(k): v for k, v in expected["rounds"].items()}
    assert reply.json() == expected


def test_if_none_match_with_the_current_version_gives_304_then_200_after_a_change(
    service: Service,
) -> None:
    """The ETag/304 round trip: same version -> 304 without a body; after a write -> 200."""
    job_id = service.new_job(1)
    etag = service.read(f"/jobs/{job_id}").headers["etag"]
    same = service.read(f"/jobs/{job_id}", headers={"If-None-Match": etag})
    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", etag)
    service.write(f"/jobs/{job_id}/updates", [{"task_id": "t0", "status": "running"}])
    changed = service.read(f"/jobs/{job_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["running_tasks"] == 1


def test_list_jobs_names_every_job_with_its_version(service: Service) -> None:
    """GET /jobs lists each job id with the version the store holds."""
    job_id = service.new_job(1)
    jobs = {j["job_id"]: j["version"] for j in service.read("/jobs").json()["jobs"]}
    assert jobs == service.store.list_jobs()
    assert jobs[job_id] == 2


def test_job_event_stream_delivers_a_write_within_a_second_and_ends_on_completion(
    service: Service,
) -> None:
    """GET /jobs/{id}/events sends the summary, then each write within 1 s, then ends."""
    job_id = service.new_job(2)
    seen: list[tuple[str, dict[str, object], float]] = []
    written: dict[str, float] = {}

    def writer() -> None:
        time.sleep(0.3)
        for i in range(2):
            written[f"t{i}"] = time.monotonic()
            service.write(f"/jobs/{job_id}/updates", [{"task_id": f"t{i}", "status": "completed"}])
            time.sleep(0.3)

    with service.client.stream(
        "GET", f"/jobs/{job_id}/events", headers=service.headers(service.read_token)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        thread = threading.Thread(target=writer)
        thread.start()
        seen = list(sse_events(response))
        thread.join()
    names = [name for name, _, _ in seen]
    assert names[0] == "summary" and names[-1] == "end"
    completed = [(data["completed_tasks"], at) for name, data, at in seen if name == "summary"]
    assert completed[0][0] == 0 and completed[-1][0] == 2
    for n, at in completed[1:]:
        assert at - written[f"t{n - 1}"] < 1.0


def test_budget_summary_has_money_as_exact_decimal_strings(service: Service) -> None:
    """GET /budget returns the library's budget summary with every amount a decimal string."""
    budget = service.read("/budget").json()
    expected = service.store.budget_summary()
    assert Decimal(budget["total_budget"]) == expected["total_budget"]
    assert isinstance(budget["total_spent"], str)
    agent = budget["agents"]["survey-panel"]
    assert agent["limit"] == "10.00" and agent["expected_price"] == "2.50"
    assert budget["agents"]["social-listener"]["limit"] is None


def test_reservation_is_granted_once_per_id_and_refused_when_unaffordable(
    service: Service,
) -> None:
    """POST /budget/reservations grants, repeats the grant for a retried id, then refuses."""
    first = service.write(
        "/budget/reservations", {"agent_name": "survey-panel", "reservation_id": "r-1"}
    )
    assert first.status_code == 200
    assert first.json() == {
        "granted": True,
        "expected_cost": "2.50",
        "reason": "reserved 2.50 for agent 'survey-panel'; 7.50 remaining",
    }
    again = service.write(
        "/budget/reservations", {"agent_name": "survey-panel", "reservation_id": "r-1"}
    )
    assert again.json() == first.json()
    assert service.store.budget_summary()["agents"]["survey-panel"]["reserved"] == Decimal("2.50")
    replies = [
        service.write(
            "/budget/reservations", {"agent_name": "survey-panel", "reservation_id": f"r-{i}"}
        ).json()
        for i in range(2, 6)
    ]
    assert [r["granted"] for r in replies] == [True, True, True, False]
    assert isinstance(replies[-1]["reason"], str)


def test_cost_records_are_recorded_and_settle_the_reservation(service: Service) -> None:
    """POST /budget/costs records paid jobs (amounts given as strings) exactly."""
    before = service.store.budget_summary()["agents"]["social-listener"]["spent"]
    records = [
        {
            "agent_name": "social-listener",
            "job_id": f"paid-{i}",
            "expected": "1.20",
            "actual": "0.1",
        }
        for i in range(3)
    ]
    reply = service.write("/budget/costs", records)
    assert (reply.status_code, reply.json()) == (200, {"recorded": 3})
    after = service.store.budget_summary()["agents"]["social-listener"]["spent"]
    assert after - before == Decimal("0.3")
    assert service.write("/budget/costs", records).status_code == 200  # idempotent by job_id
    assert service.store.budget_summary()["agents"]["social-listener"]["spent"] == after


def test_budget_event_stream_delivers_a_cost_within_a_second(service: Service) -> None:
    """GET /budget/events sends the budget now and again within 1 s of a recorded cost."""
    job_id = f"paid-{uuid.uuid4().hex[:6]}"
    record = {"agent_name": "social-listener", "job_id": job_id, "expected": "1", "actual": "2"}
    with (
        httpx.Client(base_url=service.url, timeout=10) as client,
        client.stream(
            "GET", "/budget/events", headers=service.headers(service.read_token)
        ) as response,
    ):
        events = sse_events(response)
        first = next(events)[1]
        written = time.monotonic()
        service.write("/budget/costs", [record])
        name, second, at = next(events)
    assert name == "summary" and at - written < 1.0
    assert Decimal(second["total_spent"]) - Decimal(first["total_spent"]) == Decimal("2")
