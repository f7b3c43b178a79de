"""Access through the proxy: no token or a wrong one 401, read token on writes 403, big bodies 413.

Each refused request changes nothing in the store, and no reply ever holds a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_helpers import Service, start_service, stop_service

LIMIT = 4096  # the module's app is deployed with this body limit

WRITES = [
    ("/jobs", {"description": "d", "job_id": "sneaky"}),
    ("/jobs/{job}/tasks", [{"task_id": "sneaky", "agent_name": "a"}]),
    ("/jobs/{job}/updates", [{"task_id": "t0", "status": "running"}]),
    ("/budget/reservations", {"agent_name": "survey-panel", "reservation_id": "sneaky"}),
    ("/budget/costs", [{"agent_name": "a", "job_id": "sneaky", "expected": 1, "actual": 1}]),
]
READS = ["/jobs", "/jobs/{job}", "/jobs/{job}/events", "/budget", "/budget/events"]


@pytest.fixture(scope="module")
def service(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service with a small body limit, over a store holding one job."""

    running = start_service(serve_url, tmp_path_factory.mktemp("secure"), max_body_bytes=str(LIMIT))
    running.new_job(1)
    yield running
    stop_service(running)


@pytest.fixture
def job(service: Service) -> str:
    """The id of the module's job."""
    return next(iter(service.store.list_jobs()))


def _state(service: Service) -> Any:
    store = service.store
    jobs = store.list_jobs()
    return jobs, [store.job_summary(j) for j in jobs], store.budget_summary()


def _refused(reply: httpx.Response, status: int, service: Service) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    for token in (service.write_token, service.read_token):
        assert token not in reply.text and token not in str(reply.headers)


@pytest.mark.parametrize(("path", "body"), WRITES)
@pytest.mark.parametrize("token", [None, "wrong", "read"])
def test_write_routes_refuse_missing_wrong_and_read_tokens(
    service: Service, job: str, path: str, body: Any, token: str | None
) -> None:
    """A write without a token or with a wrong one is 401, with the read token 403; no change."""
    before = _state(service)
    presented = service.read_token if token == "read" else token
    reply = service.client.post(path.format(job=job), json=body, headers=service.headers(presented))
    _refused(reply, 403 if token == "read" else 401, service)
    if token != "read":
        assert reply.headers["www-authenticate"] == "Bearer"
    assert _state(service) == before


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("token", [None, "wrong", "Basic"])
def test_read_routes_refuse_missing_and_wrong_tokens(
    service: Service, job: str, path: str, token: str | None
) -> None:
    """A read without a valid token (or with another scheme) is 401."""
    headers = service.headers(token) if token != "Basic" else {"Authorization": "Basic eDp5"}
    _refused(service.client.get(path.format(job=job), headers=headers), 401, service)


@pytest.mark.parametrize("path", READS[:2] + READS[3:4])
def test_write_token_may_read(service: Service, job: str, path: str) -> None:
    """The write token also opens the read routes."""
    reply = service.client.get(path.format(job=job), headers=service.headers(service.write_token))
    assert reply.status_code == 200


@pytest.mark.parametrize(("path", "body"), WRITES)
@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_bodies_are_413_before_parsing(
    service: Service, job: str, path: str, body: Any, chunked: bool
) -> None:
    """A body over the limit (declared or streamed in chunks) is 413, and changes nothing."""
    before = _state(service)
    payload = b"[" + b'{"task_id": "x", "status": "running"},' * (LIMIT // 30) + b"{}]"
    assert len(payload) > LIMIT
    content: Any = iter([payload[:1000], payload[1000:]]) if chunked else payload
    reply = service.client.post(
        path.format(job=job), content=content, headers=service.headers(service.write_token)
    )
    _refused(reply, 413, service)
    assert reply.json()["value"] == LIMIT
    assert _state(service) == before


def test_page_session_reads_but_never_writes(service: Service) -> None:
    """POST /session trades the read token for an HttpOnly, SameSite=Strict, read-only cookie."""
    with httpx.Client(base_url=service.url, follow_redirects=False) as browser:
        assert browser.get("/").status_code == 401
        wrong = browser.post("/session", data={"token": "not-the-token"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        signed_in = browser.post("/session", data={"token": service.read_token})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert service.read_token not in signed_in.headers["set-cookie"]
        page = browser.get("/")
        assert page.status_code == 200 and "<title>eap-state" in page.text
        assert "script-src 'sha256-" in page.headers["content-security-policy"]
        assert browser.get("/budget").status_code == 200
        before = _state(service)
        _refused(browser.post("/jobs", json={"description": "via cookie"}), 401, service)
        assert _state(service) == before
        assert browser.delete("/session").status_code == 204
        assert browser.get("/budget").status_code == 401


def test_tampered_session_cookie_is_refused(service: Service) -> None:
    """A session cookie whose expiry was pushed out, or made up, grants nothing."""
    with httpx.Client(base_url=service.url) as browser:
        browser.post("/session", data={"token": service.read_token}, follow_redirects=False)
        value = browser.cookies["eap_state_session"]
        expiry, _, mac = value.partition(".")
        for forged in (f"{int(expiry) + 3600}.{mac}", f"{expiry}.{'0' * len(mac)}", "1.x"):
            browser.cookies.clear()
            browser.cookies.set("eap_state_session", forged)
            assert browser.get("/budget").status_code == 401
