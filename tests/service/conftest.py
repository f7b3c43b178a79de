"""One Serve HTTP proxy per test session, one service app (over a fresh store) per module.

Serve takes seconds to start on two shared cores, so the proxy starts once,
on a free port of 127.0.0.1, and each test module deploys its app once.
Tests talk to it through real HTTP, through the proxy.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_helpers import Service

NAMESPACE = "eap-state-service-tests"
AGENTS = [
    {"name": "survey-panel", "price": "2.50", "max_total_spend": "10.00"},
    {"name": "social-listener", "price": "1.20"},
]
BUDGET = {"total_budget": "20.00"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def serve_url(ray_session: Any) -> Iterator[str]:
    """Start Serve's HTTP proxy on a free local port for the session; stop it at the end."""
    serve = pytest.importorskip("ray.serve")
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()


def start_service(serve_url: str, tmp: Path, **args: str) -> Service:
    """Create a named store and deploy the service app over it at ``/``; return its handle."""
    from ray import serve

    from shell.service import app
    from shell.store import StateStore

    name = f"store-{uuid.uuid4().hex[:8]}"
    store = StateStore.create(BUDGET, AGENTS, name=name, namespace=NAMESPACE)
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


@pytest.fixture(scope="module")
def service(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Deploy the service over a fresh store for the module; remove both at its end."""
    running = start_service(serve_url, tmp_path_factory.mktemp("service"))
    yield running
    stop_service(running)
