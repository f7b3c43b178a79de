"""The service over a journaled store: idempotency keys, and a store restart ridden through."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import ray
from service_helpers import Service, start_service, stop_service


@pytest.fixture(scope="module")
def service(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service over a store journaled in a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("journal")
    running = start_service(serve_url, tmp, journal=f"sqlite:///{tmp / 'journal.db'}")
    yield running
    stop_service(running)


def _post(service: Service, path: str, body: object, key: str) -> httpx.Response:
    headers = {**service.headers(service.write_token), "Idempotency-Key": key}
    return service.client.post(path, json=body, headers=headers)


def test_a_resent_change_with_its_idempotency_key_applies_once(service: Service) -> None:
    """The same batch resent with its Idempotency-Key gets the first reply and changes nothing."""
    job_id = service.new_job(2)
    batch = [{"task_id": "t0", "status": "running"}, {"task_id": "t0", "status": "completed"}]
    first = _post(service, f"/jobs/{job_id}/updates", batch, "key-1")
    again = _post(service, f"/jobs/{job_id}/updates", batch, "key-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"version": 3}
    assert service.store.poll_job(job_id)[0] == 3


def test_an_idempotency_key_reused_for_another_change_is_409(service: Service) -> None:
    """Reusing a key with another body is a 409 CommandConflictError, and nothing changes."""
    job_id = service.new_job(2)
    added = _post(service, f"/jobs/{job_id}/tasks", [{"task_id": "x", "agent_name": "a"}], "k2")
    assert added.status_code == 200
    reply = _post(service, f"/jobs/{job_id}/tasks", [{"task_id": "y", "agent_name": "a"}], "k2")
    assert reply.status_code == 409
    assert reply.json()["title"] == "CommandConflictError"
    assert service.store.job_summary(job_id)["total_tasks"] == 3


def test_the_service_rides_through_a_restart_of_the_journaled_store(service: Service) -> None:
    """Killed with restart allowed, the store comes back from its journal; HTTP sees no loss."""
    job_id = service.new_job(3)
    service.write(f"/jobs/{job_id}/updates", [{"task_id": "t1", "status": "completed"}])
    before = service.read(f"/jobs/{job_id}").json()
    actor = ray.get_actor(service.store._name, namespace=service.store._namespace)
    ray.kill(actor, no_restart=False)
    after = service.read(f"/jobs/{job_id}")
    assert after.status_code == 200, after.text
    assert after.json() == before
    reply = service.write(f"/jobs/{job_id}/updates", [{"task_id": "t2", "status": "failed"}])
    assert reply.status_code == 200
    assert service.read(f"/jobs/{job_id}").json()["failed_tasks"] == 1


def test_an_empty_idempotency_key_is_422_even_for_an_empty_batch(service: Service) -> None:
    """A blank Idempotency-Key is refused as the store would, though nothing would be sent."""
    reply = _post(service, "/budget/costs", [], "")
    assert reply.status_code == 422
    assert reply.json()["field"] == "command_id"
