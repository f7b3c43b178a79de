"""Journal URLs for tests: a fresh SQLite file, and the PostgreSQL server named by a variable.

PostgreSQL tests use the server in ``EAP_STATE_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Without a reachable server they
skip, saying which variable to set; with ``EAP_STATE_REQUIRE_PG=1`` (CI sets it)
a missing server fails them instead. Every test uses its own store names, so
concurrent runs against one database never collide.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

PG_DSN_VARIABLE = "EAP_STATE_PG_DSN"
REQUIRE_PG_VARIABLE = "EAP_STATE_REQUIRE_PG"
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def pg_dsn() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get(PG_DSN_VARIABLE) or DEFAULT_PG_DSN


@functools.lru_cache(maxsize=1)
def _pg_problem() -> str | None:
    """Why the server cannot be used (None: it can); asked once per session."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'eap-state[postgres]')"
    try:
        with psycopg.connect(pg_dsn(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as err:
        return f"{type(err).__name__}: {err}".strip()
    return None


def require_pg() -> str:
    """Return the DSN, or skip (fail when ``EAP_STATE_REQUIRE_PG=1``) without a server."""
    problem = _pg_problem()
    if problem is not None:
        message = (
            f"no PostgreSQL server at {PG_DSN_VARIABLE}={pg_dsn()!r} ({problem}); set "
            f"{PG_DSN_VARIABLE} to a server's URL to run these tests"
        )
        if os.environ.get(REQUIRE_PG_VARIABLE) == "1":
            pytest.fail(f"{REQUIRE_PG_VARIABLE}=1 but {message}")
        pytest.skip(message)
    return pg_dsn()


def url_for(backend: str, tmp_path: Path) -> str:
    """A journal URL of ``backend``: a new SQLite file under ``tmp_path``, or the server."""
    if backend == "sqlite":
        return f"sqlite://{tmp_path}/journal.db"
    return require_pg()


def unique_name(prefix: str = "store") -> str:
    """A store name no other test or run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=BACKENDS)
def journal_url(request: Any, tmp_path: Path) -> str:
    """Each backend's journal URL in turn (the test runs once per backend)."""
    return url_for(request.param, tmp_path)
