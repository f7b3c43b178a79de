"""The demo's --async mode: one event loop, an AsyncStateStore, watcher-driven progress."""

from __future__ import annotations

from typing import Any

import pytest
from test_demo import _check_invariants, _run

from shell.demo import main
from shell.demo.cli import parse_args
from shell.demo.config import load_config
from shell.demo.progress import LiveProgress


def test_async_mode_keeps_every_update_and_the_books_balance(
    ray_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--async runs flows as coroutines on an AsyncStateStore; every invariant of a run holds."""
    report = _run(capsys, "--async", "--writers", "3", "--tasks", "9", "--seed", "2")
    assert report["mode"] == "async" and report["options"]["writers"] == 3
    _check_invariants(report)
    events = report["ray_ops"]["events"]
    assert events["status_updates"] == 2 * report["job"]["total_tasks"]
    assert report["ray_ops"]["flushes"] >= 1


def test_async_mode_progress_is_driven_by_the_watcher(ray_session: Any) -> None:
    """The live display redraws from watch_job: at least once per round, never from a poll loop."""
    from shell.demo.async_mode import run_async

    _, options, _ = parse_args(["--async", "--tasks", "6", "--speed", "0.02"])
    progress = LiveProgress(False)
    result = run_async(load_config(None), options, progress)
    assert progress.updates >= 2
    assert result.job_summary["is_complete"]
    # No status polls: the only status read is the final summary.
    assert result.tally.status_reads == 1


@pytest.mark.parametrize(
    "argv", [["--async", "--store"], ["--writers", "3"], ["--async", "--writers", "0"]]
)
def test_async_flag_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--async cannot be combined with --store, and --writers still needs a concurrent mode."""
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err
