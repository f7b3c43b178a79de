"""Every error status through the Serve proxy: problem+json with the library error's details."""

from __future__ import annotations

from typing import Any

import pytest
from service_helpers import Service

PROBLEM = "application/problem+json"


def _problem(reply: Any, status: int, title: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body["title"] == title
    assert body["type"] == f"urn:eap-state:error:{title}"
    return body


@pytest.mark.parametrize(
    ("path", "body", "title", "field"),
    [
        ("/jobs", ["not", "an", "object"], "InvalidArgumentError", "body"),
        ("/jobs", {"description": "d", "owner": "x"}, "InvalidArgumentError", "owner"),
        ("/jobs", {"job_id": "x"}, "InvalidArgumentError", "description"),
        ("/jobs", {"description": 7}, "InvalidArgumentError", "description"),
        ("/jobs", {"description": "d", "job_id": ""}, "InvalidArgumentError", "job_id"),
        ("/budget/reservations", {"agent_name": 5, "reservation_id": "r"}, None, "agent_name"),
        ("/budget/costs", {"agent_name": "a"}, "InvalidArgumentError", "body"),
        (
            "/budget/costs",
            [{"agent_name": "survey-panel", "job_id": "j", "expected": "-1", "actual": "1"}],
            "BudgetError",
            "expected",
        ),
    ],
)
def test_bad_input_is_422_naming_the_field(
    service: Service, path: str, body: Any, title: str | None, field: str
) -> None:
    """A malformed body is 422 problem+json naming the offending field; nothing is created."""
    jobs = service.store.list_jobs()
    reply = service.write(path, body)
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["field"] == field
    if title is not None:
        assert problem["title"] == title
    assert service.store.list_jobs() == jobs


def test_bad_json_is_422(service: Service) -> None:
    """A body that is not JSON (or uses NaN) is 422 with field 'body'."""
    for raw in (b"{not json", b'{"description": NaN}', b"\xff\xfe"):
        reply = service.client.post(
            "/jobs", content=raw, headers=service.headers(service.write_token)
        )
        assert _problem(reply, 422, "InvalidArgumentError")["field"] == "body"


def test_bad_task_and_update_name_their_index(service: Service) -> None:
    """A bad task or update in a batch is 422 with its index, and the batch is not applied."""
    job_id = service.new_job(2)
    tasks = [
        {"task_id": "ok", "agent_name": "a"},
        {"task_id": "bad", "agent_name": "a", "round": 0},
    ]
    problem = _problem(service.write(f"/jobs/{job_id}/tasks", tasks), 422, "InvalidTaskError")
    assert (problem["field"], problem["value"], problem["index"]) == ("round", 0, 1)
    updates = [{"task_id": "t0", "status": "running"}, {"task_id": "t1", "status": "done"}]
    problem = _problem(service.write(f"/jobs/{job_id}/updates", updates), 422, "InvalidUpdateError")
    assert (problem["field"], problem["index"]) == ("status", 1)
    unknown = [{"task_id": "nope", "status": "running"}]
    _problem(service.write(f"/jobs/{job_id}/updates", unknown), 422, "UnknownTaskError")
    summary = service.store.job_summary(job_id)
    assert (summary["total_tasks"], summary["pending_tasks"]) == (2, 2)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/missing"),
        ("GET", "/jobs/missing/events"),
        ("POST", "/jobs/missing/tasks"),
        ("POST", "/jobs/missing/updates"),
    ],
)
def test_unknown_job_is_404(service: Service, method: str, path: str) -> None:
    """Every job route answers 404 UnknownJobError for a job the store does not hold."""
    reply = service.read(path) if method == "GET" else service.write(path, [])
    problem = _problem(reply, 404, "UnknownJobError")
    assert (problem["field"], problem["value"]) == ("job_id", "missing")


def test_unknown_agent_is_404_and_reserves_nothing(service: Service) -> None:
    """A reservation for an agent the budget does not know is 404, and adds no agent."""
    body = {"agent_name": "ghost", "reservation_id": "r-ghost"}
    problem = _problem(service.write("/budget/reservations", body), 404, "UnknownAgentError")
    assert problem["value"] == "ghost"
    assert "ghost" not in service.store.budget_summary()["agents"]


def test_conflicts_are_409(service: Service) -> None:
    """A duplicate job or task, a forbidden transition and reused ids are 409 conflicts."""
    job_id = service.new_job(1)
    _problem(
        service.write("/jobs", {"description": "d", "job_id": job_id}), 409, "DuplicateJobError"
    )
    again = [{"task_id": "t0", "agent_name": "a"}]
    _problem(service.write(f"/jobs/{job_id}/tasks", again), 409, "DuplicateTaskError")
    service.write(f"/jobs/{job_id}/updates", [{"task_id": "t0", "status": "completed"}])
    back = [{"task_id": "t0", "status": "running"}]
    _problem(service.write(f"/jobs/{job_id}/updates", back), 409, "InvalidTransitionError")
    record = {"agent_name": "social-listener", "job_id": "c-1", "expected": "1", "actual": "1"}
    assert service.write("/budget/costs", [record]).status_code == 200
    changed = {**record, "actual": "3"}
    problem = _problem(service.write("/budget/costs", [changed]), 409, "BudgetError")
    assert problem["field"] == "job_id"
    grant = {"agent_name": "social-listener", "reservation_id": "shared"}
    assert service.write("/budget/reservations", grant).json()["granted"]
    other = {"agent_name": "survey-panel", "reservation_id": "shared"}
    _problem(service.write("/budget/reservations", other), 409, "BudgetError")


def test_lone_surrogate_is_422_and_unicode_ids_work(service: Service) -> None:
    """A lone surrogate escape is 422 (not text); a non-ASCII job id is created and found."""
    raw = b'{"description": "d", "job_id": "\\ud880x"}'
    reply = service.client.post("/jobs", content=raw, headers=service.headers(service.write_token))
    assert _problem(reply, 422, "InvalidArgumentError")["field"] == "body"
    created = service.write("/jobs", {"description": "d", "job_id": "vélo-😀"})
    assert created.status_code == 201
    assert created.headers["location"] == "/jobs/v%C3%A9lo-%F0%9F%98%80"
    assert service.read(created.headers["location"]).json()["job_id"] == "vélo-😀"
