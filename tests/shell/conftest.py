"""Fixtures for the shell's tests (the session's Ray comes from the repo-root conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def fresh_shell(ray_session: Any) -> Iterator[None]:
    """Start a test with zero Ray-op counts and an empty default cache."""
    from shell import reset_ray_op_counts
    from shell.managers import default_cache

    default_cache().invalidate()
    reset_ray_op_counts()
    yield
