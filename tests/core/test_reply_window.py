"""Unit tests for ReplyWindow: the store's last remembered command ids, shared along a line."""

from __future__ import annotations

import sys
import threading

from core.ledger._window import ReplyWindow


def _grown(window: ReplyWindow[int], keys: list[str]) -> ReplyWindow[int]:
    for number, key in enumerate(keys):
        window = window.add(key, number)
    return window


def test_windows_of_one_line_share_it_and_a_branch_starts_its_own() -> None:
    """Adding to the newest window appends in place; adding to an older one copies its ids."""
    older = _grown(ReplyWindow(10), ["a", "b"])
    newer = older.add("c", 2)
    assert newer._line is older._line  # appended in place: no copy
    branch = older.add("x", 9)
    assert branch._line is not older._line
    assert list(branch.items()) == [("a", 0), ("b", 1), ("x", 9)]
    assert list(newer.items()) == [("a", 0), ("b", 1), ("c", 2)]
    assert "x" not in newer and "c" not in branch and list(older) == ["a", "b"]


def test_a_full_line_is_copied_once_its_dead_entries_reach_the_capacity() -> None:
    """The line holds at most twice the capacity: evicted entries do not pile up for ever."""
    window = _grown(ReplyWindow(3), [f"c{n}" for n in range(50)])
    assert list(window) == ["c47", "c48", "c49"]
    assert len(window._line.entries) <= 2 * 3 and len(window._line.index) <= 2 * 3


def test_adds_to_one_window_from_many_threads_at_once_each_read_their_own() -> None:
    """Threads adding to the same newest window at once each get exactly their own id added."""
    workers, rounds = 4, 300
    bases = [_grown(ReplyWindow(1_000), [f"r{r}-t{i}" for i in range(5)]) for r in range(rounds)]
    grown: dict[tuple[int, int], ReplyWindow[int]] = {}
    start = threading.Barrier(workers)

    def add(worker: int) -> None:
        for round_no, base in enumerate(bases):
            start.wait()  # every thread adds to this round's window at the same moment
            grown[round_no, worker] = base.add(f"w{worker}", worker)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, mid-add included
    try:
        threads = [threading.Thread(target=add, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    for (round_no, worker), window in grown.items():
        expected = [f"r{round_no}-t{i}" for i in range(5)] + [f"w{worker}"]
        assert list(window.items()) == [*zip(expected, [0, 1, 2, 3, 4, worker], strict=True)]
        assert all(f"w{other}" not in window for other in range(workers) if other != worker)
    assert all(len(base) == 5 for base in bases)
