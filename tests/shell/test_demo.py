"""The demo end to end on the session's Ray: report invariants, repeatability, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.budget.calculator import BudgetCalculator
from core.budget.reducers import (
    ReservationDecision,
    new_budget,
    record_costs,
    reserve,
    total_remaining,
)
from shell.demo import main
from shell.demo.config import default_agents_file
from shell.demo.plan import plan_refinement
from shell.demo.records import OpTally
from shell.demo.run import InOrder
from shell.demo.simulation import Outcome

FAST = ["--speed", "0.02", "--json"]
ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run the demo in-process with --json and return its parsed report."""
    code = main([*FAST, *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report: dict[str, Any] = json.loads(captured.out)
    return report


def _d(value: str | None) -> Decimal:
    assert value is not None
    return Decimal(value)


def _check_invariants(report: dict[str, Any]) -> None:
    """Assert what must hold after any run, refs or store."""
    budget, ledger, job = report["budget"], report["ledger"], report["job"]
    granted = sum(r["granted"] for r in report["rounds"])
    assert job["total_tasks"] == granted == ledger["records"]
    assert job["completed_tasks"] + job["failed_tasks"] == granted and job["is_complete"]
    for row in report["rounds"]:
        assert row["granted"] + len(row["refused"]) == row["planned"]
    spent = _d(budget["total_spent"])
    assert spent == _d(ledger["sum_actual"])
    assert spent == sum(_d(r["spend"]) for r in report["rounds"])
    assert spent == sum(_d(a["spent"]) for a in budget["agents"].values())
    assert _d(budget["total_reserved"]) == 0
    assert spent <= _d(budget["total_budget"]) + _d(ledger["overruns"])
    ops = report["ray_ops"]
    assert ops["used"]["total"] < ops["baseline"]["total"]
    assert ops["used"]["get"] < ops["baseline"]["get"]


def _deterministic(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report a seed must reproduce (no ids, timings or op counts)."""
    return {
        "rounds": report["rounds"],
        "ledger": report["ledger"],
        "agents": report["budget"]["agents"],
        "accuracy": report["cost_accuracy"],
        "sample": report["results_sample"],
    }


def test_report_invariants_hold(ray_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A refs run's JSON report balances: spend, ledger, reservations and Ray ops."""
    report = _run(capsys, "--tasks", "10", "--seed", "11")
    assert report["mode"] == "refs"
    _check_invariants(report)
    assert report["ray_ops"]["flushes"] >= 2
    assert report["ray_ops"]["events"]["cost_records"] == report["ledger"]["records"]


def test_same_seed_repeats_and_another_differs(
    ray_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs with one seed report the same plan, ledger and prices; another seed does not."""
    first = _run(capsys, "--tasks", "8", "--seed", "5")
    again = _run(capsys, "--tasks", "8", "--seed", "5")
    other = _run(capsys, "--tasks", "8", "--seed", "6")
    assert _deterministic(first) == _deterministic(again)
    assert _deterministic(first)["ledger"] != _deterministic(other)["ledger"]


def test_tight_budget_refuses_and_reports(
    ray_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --budget 6 reservations are refused with a reason, and the run still completes."""
    report = _run(capsys, "--tasks", "10", "--budget", "6", "--seed", "3")
    refused = [r for row in report["rounds"] for r in row["refused"]]
    assert refused and all("cannot reserve" in r["reason"] for r in refused)
    assert report["budget"]["total_budget"] == "6"
    _check_invariants(report)


def test_store_mode_keeps_every_update(
    ray_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--store runs concurrent writers against a StateStore without losing updates or money."""
    report = _run(capsys, "--store", "--writers", "3", "--tasks", "9", "--seed", "2")
    assert report["mode"] == "store" and report["options"]["writers"] == 3
    _check_invariants(report)
    events = report["ray_ops"]["events"]
    assert events["status_updates"] == 2 * report["job"]["total_tasks"]


def test_plain_report_without_a_terminal(
    ray_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json and without a TTY the report is plain tables with no live redraws."""
    assert main(["--tasks", "5", "--speed", "0.02"]) == 0
    out = capsys.readouterr().out
    for title in ("Job summary", "Budget per agent", "Cost accuracy", "Ray operations"):
        assert title in out
    assert "\x1b[" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--tasks", "0"],
        ["--tasks", "many"],
        ["--speed", "-1"],
        ["--budget", "-5"],
        ["--budget", "lots"],
        ["--no-such-flag"],
        ["--writers", "3"],
        ["--seed", "-1"],
    ],
)
def test_bad_flags_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad flag is refused before Ray starts: exit 2 and one line on stderr."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eap-state-demo: error:")
    assert captured.out == ""


_VALID_AGENT = '[[agents]]\nname = "a"\nprice = "1.00"\ntrue_cost = "1.10"\n'


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[budget\n", "not valid TOML"),
        (_VALID_AGENT, "budget"),
        ('[budget]\ntotal_budget = "x"\n' + _VALID_AGENT, "budget.total_budget"),
        ('[budget]\ntotal_budget = "9"\n', "agents"),
        ('[budget]\ntotal_budget = "9"\n[[agents]]\nname = "a"\ntrue_cost = "1"\n', "price"),
        ('[budget]\ntotal_budget = "9"\n' + _VALID_AGENT.replace('"1.00"', '"-1"'), "price"),
        ('[budget]\ntotal_budget = "9"\n' + _VALID_AGENT + "colour = 3\n", "colour"),
        ('[budget]\ntotal_budget = "9"\n' + _VALID_AGENT + "failure_rate = 2\n", "failure_rate"),
        ('[budget]\ntotal_budget = "9"\n' + _VALID_AGENT + "duration = [3, 1]\n", "duration"),
        ('[budget]\ntotal_budget = "9"\n' + _VALID_AGENT * 2, "duplicate agent name"),
    ],
)
def test_malformed_agents_file_exits_2_naming_the_field(
    text: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed agents file gives exit 2 and one stderr line naming the field."""
    path = tmp_path / "agents.toml"
    path.write_text(text)
    assert main(["--agents-file", str(path), "--json"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and str(path) in lines[0]


def test_missing_agents_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist is a usage error, not a traceback."""
    assert main(["--agents-file", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read agents file" in capsys.readouterr().err


def test_module_entry_point_exit_code() -> None:
    """`python -m shell.demo` with a bad flag exits 2 as a process, with one stderr line."""
    proc = subprocess.run(
        [sys.executable, "-m", "shell.demo", "--speed", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "eap-state-demo: error: --speed must be from 0.01 to 10.0, got 0.0"
    ]


def test_default_agents_file_is_mispriced_on_purpose() -> None:
    """The shipped agents file parses and has agents whose true cost differs from the price."""
    from shell.demo.config import load_config

    config = load_config(default_agents_file())
    assert 4 <= len(config.agents) <= 6
    assert any(abs(a.true_cost - a.price) / a.price > Decimal("0.2") for a in config.agents)
    assert any(a.max_total_spend is not None for a in config.agents)


def test_refinement_plan_fits_what_is_left() -> None:
    """Round 2's plan never projects more than the total remaining nor an agent's limit."""
    agents = [
        {"name": "a", "price": "3", "max_total_spend": "7"},
        {"name": "b", "price": "2"},
    ]
    state = new_budget({"total_budget": "10"}, agents)
    _, state = reserve(state, "a", None, "j1")
    state = record_costs(
        state, [{"agent_name": "a", "expected": "3", "actual": "4", "job_id": "j1"}]
    )
    plan = plan_refinement(state, {"a": 1, "b": 0}, wanted=6)
    remaining = total_remaining(state)
    assert remaining is not None and plan.projected_cost is not None
    assert plan.projected_cost <= remaining
    assert plan.projected_cost == BudgetCalculator.project_total_cost(
        [t.agent_name for t in plan.tasks], state
    )
    assert plan.counts().get("a", 0) <= (BudgetCalculator.affordable_jobs(state, "a") or 0)
    assert sum(plan.wished.values()) == 6 and len(plan.tasks) < 6
    assert any(r["kind"] == "over_budget" for r in plan.recommendations)


def test_in_order_release_and_baseline_arithmetic() -> None:
    """Outcomes are released in simulated finish order; the baseline counts get+put per write."""
    order = InOrder(["x", "y", "z"])

    def outcome(task_id: str) -> Outcome:
        return Outcome(task_id, "a", 1.0, True, Decimal("1"), None, None)

    order.add(outcome("y"))
    assert order.release() == []
    order.add(outcome("x"))
    assert [o.task_id for o in order.release()] == ["x", "y"]
    tally = OpTally(reservations=3, grants=2, tasks_added=2, status_updates=4, cost_records=2)
    tally.status_reads = 10
    assert tally.baseline() == {"get": 3 + 8 + 10, "put": 2 + 2 + 8, "total": 33}


def test_every_mode_splits_a_round_and_sorts_reservations_alike() -> None:
    """split_round deals round-robin with no empty share; sort_reservation counts both answers."""
    from shell.demo.config import load_config
    from shell.demo.plan import plan_first_round
    from shell.demo.records import sort_reservation, split_round

    config = load_config(default_agents_file())
    plan = plan_first_round(config, 5)
    shares = split_round(config, plan, writers=3)
    assert [len(share) for share in shares] == [2, 2, 1]
    assert [task for share in split_round(config, plan, 1) for task, _ in share] == plan.tasks
    assert all(agent.name == task.agent_name for share in shares for task, agent in share)
    assert len(split_round(config, plan, writers=64)) == 5
    tally, refused = OpTally(), []
    yes = ReservationDecision(True, Decimal("1"), "reserved")
    no = ReservationDecision(False, Decimal("1"), "over budget")
    assert sort_reservation(yes, plan.tasks[0], tally, refused)
    assert not sort_reservation(no, plan.tasks[1], tally, refused)
    assert (tally.reservations, tally.grants) == (2, 1)
    task = plan.tasks[1]
    assert refused == [
        {"task_id": task.task_id, "agent_name": task.agent_name, "reason": "over budget"}
    ]
