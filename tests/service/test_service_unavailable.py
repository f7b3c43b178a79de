"""A store that is gone: every store route is 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_helpers import Service, start_service, stop_service

ROUTES = [
    ("GET", "/jobs", None),
    ("POST", "/jobs", {"description": "d"}),
    ("POST", "/jobs/j/tasks", []),
    ("POST", "/jobs/j/updates", []),
    ("GET", "/jobs/j", None),
    ("GET", "/jobs/j/events", None),
    ("POST", "/budget/reservations", {"agent_name": "survey-panel", "reservation_id": "r"}),
    ("POST", "/budget/costs", [{"agent_name": "a", "job_id": "j", "expected": 1, "actual": 1}]),
    ("GET", "/budget", None),
    ("GET", "/budget/events", None),
]


@pytest.fixture(scope="module")
def orphaned(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A running service whose store has been shut down."""
    running = start_service(serve_url, tmp_path_factory.mktemp("orphan"))
    running.store.shutdown()
    yield running
    stop_service(running)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_store_routes_are_503_with_retry_after(
    orphaned: Service, method: str, path: str, body: object
) -> None:
    """With the store gone, the route answers 503 StateUnavailable with a Retry-After header."""
    reply = orphaned.read(path) if method == "GET" else orphaned.write(path, body)
    assert reply.status_code == 503, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert int(reply.headers["retry-after"]) > 0
    assert reply.json()["title"] == "StateUnavailable"
