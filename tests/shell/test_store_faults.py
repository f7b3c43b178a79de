"""Real faults against a journaled StateStore: killed actors, a lost database, lost nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from fault_scenarios import outcome, writers
from journal_fixtures import require_pg, unique_name
from tcp_proxy import TcpProxy

from core.errors import StateError
from shell.errors import JournalUnavailable, OutcomeUnknown, StateUnavailable
from shell.store import StateStore

AGENTS = [{"name": "a", "price": 1}]


def test_kills_during_eight_writers_lose_and_repeat_nothing(
    ray_session: Any, tmp_path: Path
) -> None:
    """Three ray.kill restarts and a SIGKILL mid-run: no writer errs, exactly 50 of 80 granted."""
    store = StateStore.create(
        {"total_budget": 50}, AGENTS, name=unique_name(), journal=f"sqlite://{tmp_path}/j.db"
    )
    try:
        run = writers(store, 8, 10, "j")
        for _ in range(3):
            time.sleep(0.25)
            ray_session.kill(store._actor, no_restart=False)
        time.sleep(0.25)
        os.kill(store.info()["pid"], signal.SIGKILL)
        found = outcome(store, run, "j", 8)
        assert found["errors"] == []
        assert (found["granted"], found["asked"], found["reserved"]) == (50, 80, "50")
        assert found["completed"] == [10] * 8
        # 1 creation + 8 jobs + 8 task batches + 160 updates + 80 reservations, each once.
        assert store.info()["applied"] == 257
    finally:
        store.shutdown()


def test_unreachable_database_acknowledges_nothing(ray_session: Any) -> None:
    """With the database cut off, changes raise StateUnavailable and none is applied."""
    dsn = urlparse(require_pg())
    with TcpProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432)) as proxy:
        journal = dsn._replace(netloc=f"{dsn.username or 'postgres'}@127.0.0.1:{proxy.port}")
        store = StateStore.create(
            {"total_budget": 10}, AGENTS, name=unique_name(), journal=journal.geturl()
        )
        try:
            store.reserve("a", reservation_id="before")
            proxy.cut()
            for attempt in range(3):
                with pytest.raises(StateUnavailable) as info:
                    store.reserve("a", reservation_id=f"during-{attempt}", command_id=f"c{attempt}")
                assert isinstance(info.value, JournalUnavailable)
            proxy.start()
            store.reserve("a", reservation_id="during-0", command_id="c0")
            store.reserve("a", reservation_id="during-0", command_id="c0")
            assert store.budget_summary()["total_reserved"] == 2
            assert store.info()["applied"] == 3
        finally:
            store.shutdown()


def test_impatient_caller_cannot_double_spend(ray_session: Any, tmp_path: Path) -> None:
    """The issue's scenario: a timed-out release retried with its id releases once; 5 of 5."""
    store = StateStore.create({"total_budget": 5}, AGENTS, name=unique_name())
    impatient = StateStore(store._actor, store._name, None, 1e-6)
    try:
        for i in range(5):
            store.reserve("a", reservation_id=f"r{i}")
        with pytest.raises(OutcomeUnknown) as info:
            impatient.release("a", 1, reservation_id="r0")
        for _ in range(3):
            store.release("a", 1, reservation_id="r0", command_id=info.value.command_id)
        grants = [store.reserve("a", reservation_id=f"x{i}").can_afford for i in range(3)]
        assert grants == [True, False, False]
        summary = store.budget_summary()
        assert summary["total_reserved"] + summary["total_spent"] <= 5
    finally:
        store.shutdown()


def test_whole_cluster_restart_then_node_loss() -> None:
    """Stop Ray, recover on a 3-node cluster, remove the store's node: nothing lost or repeated."""
    journal = require_pg()
    script = Path(__file__).with_name("fault_scenarios.py")
    done = subprocess.run(
        [sys.executable, str(script), journal],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["first_run"]["errors"] == [] and found["same_after_restart"]
    assert found["errors"] == [] and found["moved"] and found["recoveries"] == 1
    assert found["granted"] == 55 - found["first_run"]["granted"]
    assert found["reserved"] == "55" and found["completed"] == [10] * 8


def test_fault_errors_are_state_errors() -> None:
    """The errors a fault can raise all belong to the library's one family."""
    assert issubclass(JournalUnavailable, StateUnavailable)
    assert issubclass(OutcomeUnknown, StateError) and issubclass(OutcomeUnknown, TimeoutError)
