"""The store actor's process tunes Python's collector; nothing else does (shell._heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from core.ledger import create_store_command
from shell._heap import YOUNG_ALLOCATIONS, collect_young_rarely
from shell._store_lifecycle import _StoreProcess
from shell.store_actor import StoreCore

AGENTS = [{"name": "a", "price": 1}]


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    """This process's collector thresholds, set to a known value and restored afterwards."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_collect_young_rarely_changes_only_the_young_threshold(
    thresholds: tuple[int, int, int],
) -> None:
    """The young generation waits YOUNG_ALLOCATIONS allocations; the older ones keep theirs."""
    collect_young_rarely()
    assert gc.get_threshold() == (YOUNG_ALLOCATIONS, thresholds[1], thresholds[2])
    assert gc.isenabled()


def test_the_actor_class_tunes_its_process(thresholds: tuple[int, int, int]) -> None:
    """The class Ray runs as the store actor sets the threshold when it starts."""
    store = _StoreProcess(create_store_command("c0", {"total_budget": 2}, AGENTS))
    assert gc.get_threshold()[0] == YOUNG_ALLOCATIONS
    assert store.list_jobs() == {}


def test_store_core_in_a_caller_leaves_the_collector_alone(
    thresholds: tuple[int, int, int],
) -> None:
    """StoreCore built in a caller's process (tests, embedding) does not touch its collector."""
    StoreCore(create_store_command("c0", {"total_budget": 2}, AGENTS))
    assert gc.get_threshold() == thresholds
