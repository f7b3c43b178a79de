"""One Serve HTTP proxy per test session, one service app (over a fresh store) per module.

Serve takes seconds to start on two shared cores, so the proxy starts once,
on a free port of 127.0.0.1, and each test module deploys its app once.
Tests talk to it through real HTTP, through the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from service_helpers import Service, free_port, start_service, stop_service


@pytest.fixture(scope="session")
def serve_url(ray_session: Any) -> Iterator[str]:
    """Start Serve's HTTP proxy on a free local port for the session; stop it at the end."""
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
