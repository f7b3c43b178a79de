"""One Serve HTTP ingress per test session, one service app (over a fresh store) per module.

Serve takes seconds to start on two shared cores, so the ingress starts once,
on a free port of 127.0.0.1, and each test module deploys its app once.
Tests talk to it through real HTTP, through the ingress: Serve's HAProxy
ingress, as the standalone command and the benchmark run it, or its Python
proxy with ``EAP_STATE_TEST_INGRESS=proxy``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from service_helpers import Service, free_port, start_service, stop_service

from shell.service._ingress import DRAINING_PERIOD_VARIABLE, ingress_environment


def pytest_configure(config: pytest.Config) -> None:
    """Choose Serve's ingress before any test starts Ray (Serve reads it as its processes start)."""
    ingress = os.environ.get("EAP_STATE_TEST_INGRESS", "haproxy")
    os.environ.update(ingress_environment(ingress, os.environ))
    # Nothing is in flight when a module removes its app: without this, each removal
    # waits Serve's 30 s for balancers to forget the replica.
    os.environ.setdefault(DRAINING_PERIOD_VARIABLE, "0")


@pytest.fixture(scope="session")
def serve_url(ray_session: Any) -> Iterator[str]:
    """Start Serve's HTTP ingress on a free local port for the session; stop it at the end."""
    serve = pytest.importorskip("ray.serve")
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()


@pytest.fixture(scope="module")
def service(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Deploy the service over a fresh store for the module; remove both at its end."""
    running = start_service(serve_url, tmp_path_factory.mktemp("service"))
    yield running
    stop_service(running)
