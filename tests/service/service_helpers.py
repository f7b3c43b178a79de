"""A small HTTP client for the service tests: the tokens, the store behind, and SSE reading."""

from __future__ import annotations

import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

NAMESPACE = "eap-state-service-tests"
AGENTS = [
    {"name": "survey-panel", "price": "2.50", "max_total_spend": "10.00"},
    {"name": "social-listener", "price": "1.20"},
]
BUDGET = {"total_budget": "20.00"}


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """A running service app: its URL, its two tokens and the store it serves."""

    url: str
    write_token: str
    read_token: str
    store: Any
    app_name: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def headers(self, token: str | None) -> dict[str, str]:
        """Return the Authorization header for ``token`` (none for None)."""
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    def read(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET ``path`` with the read token."""
        headers = {**self.headers(self.read_token), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def write(self, path: str, body: Any) -> httpx.Response:
        """POST ``body`` as JSON to ``path`` with the write token."""
        return self.client.post(path, json=body, headers=self.headers(self.write_token))

    def new_job(self, n_tasks: int = 0, round_no: int = 1) -> str:
        """Create a job with tasks t0..t{n-1} through the API; return its id."""
        job_id = f"job-{uuid.uuid4().hex[:8]}"
        assert self.write("/jobs", {"description": "audience", "job_id": job_id}).status_code == 201
        if n_tasks:
            tasks = [
                {"task_id": f"t{i}", "agent_name": "survey-panel", "round": round_no}
                for i in range(n_tasks)
            ]
            assert self.write(f"/jobs/{job_id}/tasks", tasks).status_code == 200
        return job_id


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any, float]]:
    """Yield ``(event, data, monotonic time)`` for each event of an SSE response."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            yield name, json.loads(data), time.monotonic()
            name, data = "message", ""


def start_service(serve_url: str, tmp: Path, journal: str | None = None, **args: str) -> Service:
    """Create a named store (journaled if given) and deploy the app over it at ``/``."""
    from ray import serve

    from shell.service import app
    from shell.store import StateStore

    name = f"store-{uuid.uuid4().hex[:8]}"
    store = StateStore.create(BUDGET, AGENTS, name=name, namespace=NAMESPACE, journal=journal)
    write_token, read_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    token_file = tmp / "tokens"
    token_file.write_text(f"# test tokens\nwrite = {write_token}\nread = {read_token}\n")
    app_name = f"service-{name}"
    serve.run(
        app({"store_name": name, "namespace": NAMESPACE, "token_file": str(token_file), **args}),
        name=app_name,
        route_prefix="/",
    )
    return Service(serve_url, write_token, read_token, store, app_name)


def stop_service(service: Service) -> None:
    """Delete the service's app and shut its store down."""
    from ray import serve

    service.close()
    serve.delete(service.app_name)
    service.store.shutdown()
