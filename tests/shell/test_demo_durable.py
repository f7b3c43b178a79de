"""The demo with a journaled store: --journal and --chaos, end to end on the session's Ray."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shell.demo import main
from shell.journal import open_journal


def test_chaos_run_keeps_the_books_balanced(
    ray_session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killing the store's actor twice mid-run loses and repeats nothing; the report says so."""
    path = tmp_path / "demo.db"
    code = main(
        ["--journal", str(path), "--chaos", "2", "--tasks", "12", "--speed", "0.1", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # Ray's raylet may print "retrying" notices of the killed actor's calls first.
    lines = captured.out.splitlines()
    report = json.loads("\n".join(lines[lines.index("{") :]))
    durable = report["durability"]
    assert report["mode"] == "store" and durable["kills"] == 2
    assert durable["balanced"] and all(durable["checks"].values())
    recovered = open_journal(f"sqlite://{path}").recover(durable["store"])
    assert recovered.state.applied == durable["commands"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--chaos", "1"],
        ["--journal", "relative/../x.db?fsync=1", "--chaos", "1"],
        ["--journal", "mysql://x/y"],
        ["--journal", "/tmp/x.db", "--chaos", "-1"],
        ["--journal", "/tmp/x.db", "--chaos", "99"],
    ],
)
def test_bad_durability_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--chaos without --journal, a bad journal, or chaos out of range: exit 2, one line."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eap-state-demo: error:")
