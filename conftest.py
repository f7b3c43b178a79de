"""Fixtures shared by tests/ and properties/: one local Ray for the whole session.

``ray.init`` takes ~5 s here, so it starts at most once, and only when a test
asks for the ``ray_session`` fixture: core-only runs never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Start one local Ray (2 CPUs, no dashboard) for the session and stop it at the end."""
    ray = pytest.importorskip("ray")
    started_here = not ray.is_initialized()
    if started_here:
        # address="local": always a fresh cluster of our own, never one another
        # process on this machine left running (RAY_ADDRESS or Ray's current-cluster file).
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started_here:
        ray.shutdown()
