"""The demo's final report: one plain dict, rendered as rich tables or as JSON.

Amounts stay `Decimal` in the dict and become strings in JSON, so nothing
is ever rounded through a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from core.budget.calculator import BudgetCalculator
from core.budget.money import format_money, money_sum
from shell.demo.records import RoundRecord, RunResult

__all__ = ["build_report", "print_report", "to_json", "to_plain"]


def to_plain(value: Any) -> Any:
    """Return ``value`` with Decimals as strings and mappings/sequences as dicts/lists."""
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    return value


def to_json(report: Mapping[str, Any]) -> str:
    """Render the report as indented JSON with amounts as strings."""
    return json.dumps(to_plain(report), indent=2, sort_keys=False)


def _round(record: RoundRecord, summary_rounds: Mapping[Any, Any]) -> dict[str, Any]:
    counts = summary_rounds.get(record.plan.round, {})
    plan = record.plan
    row: dict[str, Any] = {
        "round": plan.round,
        "planned": len(plan.tasks),
        "granted": len(record.granted),
        "refused": record.refused,
        "completed": counts.get("completed", 0),
        "failed": counts.get("failed", 0),
        "reserved": money_sum(cost for _, cost in record.granted),
        "spend": money_sum(o.cost for o in record.outcomes),
    }
    if plan.round > 1:
        row["planning"] = {
            "wished": plan.wished,
            "kept": plan.counts(),
            "remaining_before": plan.remaining_before,
            "projected_wish": plan.projected_wish,
            "projected_cost": plan.projected_cost,
            "recommendations": plan.recommendations,
        }
    return row


def build_report(result: RunResult) -> dict[str, Any]:
    """Collect everything the run showed into one dict.

    Returns:
        ``mode``, ``options``, ``agents`` (as configured), ``job`` (the final summary), ``rounds``,
        ``budget`` (summary without recent costs), ``ledger`` (records, their
        actual sum, expected sum and overruns), ``cost_accuracy``,
        ``recommendations`` (on an empty plan), ``ray_ops`` (used, baseline,
        saved share and the events behind the baseline), ``results_sample``
        and ``elapsed_s``.
    """
    state = result.budget_state
    records = list(state.cost_records)
    baseline = result.tally.baseline()
    used = result.ops
    summary = dict(result.job_summary)
    budget = {k: v for k, v in result.budget_summary.items() if k != "recent_costs"}
    return {
        "mode": result.mode,
        "options": {
            "tasks": result.options.tasks,
            "seed": result.options.seed,
            "speed": result.options.speed,
            "writers": result.options.writers if result.mode in ("store", "async") else None,
            "agents_file": result.config.source,
        },
        "agents": [
            {
                "name": a.name,
                "price": a.price,
                "max_total_spend": a.max_total_spend,
                "simulated_mean_cost": a.true_cost,
            }
            for a in result.config.agents
        ],
        "job": {k: v for k, v in summary.items() if k not in ("created_at", "completed_at")},
        "rounds": [_round(r, summary.get("rounds", {})) for r in result.rounds],
        "budget": budget,
        "ledger": {
            "records": len(records),
            "sum_actual": money_sum(r.actual for r in records),
            "sum_expected": money_sum(r.expected for r in records),
            "overruns": money_sum(r.actual - r.expected for r in records if r.actual > r.expected),
        },
        "cost_accuracy": BudgetCalculator.get_cost_accuracy_metrics(state),
        "recommendations": BudgetCalculator.get_budget_recommendations(state, []),
        "ray_ops": {
            "used": used,
            "baseline": baseline,
            "saved_pct": round(100 * (1 - used["total"] / baseline["total"]), 1)
            if baseline["total"]
            else 0.0,
            "events": dict(vars(result.tally)),
            "flushes": result.flushes,
            "polls": result.polls,
            "cache": result.cache,
        },
        "results_sample": [
            {"task_id": r["task_id"], "agent_name": r["agent_name"], "result": r["result"]}
            for r in result.results[:3]
        ],
        "elapsed_s": round(result.elapsed, 2),
        "durability": result.durability,
    }


def _money(value: Any) -> str:
    """Show an amount for people: at least 2 and at most 4 decimal places (JSON stays exact)."""
    if not isinstance(value, Decimal):
        return format_money(value) if value is None else str(value)
    places = -int(value.as_tuple().exponent)
    if places > 4:
        value = value.quantize(Decimal("0.0001"))
    if places > 2:
        value = value.normalize()
        if -int(value.as_tuple().exponent) < 2:
            value = value.quantize(Decimal("0.01"))
    return format_money(value)


def _pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value).quantize(Decimal('0.1')):+f} %"


def print_report(report: Mapping[str, Any], console: Console) -> None:
    """Render the report as rich tables."""
    job = report["job"]
    console.rule(f"[bold]Audience research: {job['description']}")
    jobs = Table(title="Job summary")
    for column in ("round", "planned", "granted", "refused", "completed", "failed", "spend"):
        jobs.add_column(column, justify="right")
    for row in report["rounds"]:
        jobs.add_row(
            str(row["round"]),
            str(row["planned"]),
            str(row["granted"]),
            str(len(row["refused"])),
            str(row["completed"]),
            str(row["failed"]),
            _money(row["spend"]),
        )
    jobs.add_row(
        "all",
        "",
        str(job["total_tasks"]),
        "",
        str(job["completed_tasks"]),
        str(job["failed_tasks"]),
        _money(report["ledger"]["sum_actual"]),
    )
    console.print(jobs)
    for row in report["rounds"]:
        for refusal in row["refused"]:
            console.print(f"  refused {refusal['task_id']}: {refusal['reason']}")
    for row in report["rounds"]:
        planning = row.get("planning")
        if planning:
            console.print(
                f"Round {row['round']} plan: wished {planning['wished']} costing "
                f"{_money(planning['projected_wish'])}; {_money(planning['remaining_before'])} "
                f"left, so kept {planning['kept']} costing {_money(planning['projected_cost'])}."
            )
            for advice in planning["recommendations"]:
                console.print(f"  advice before round {row['round']}: {advice['message']}")

    budget = report["budget"]
    agents = Table(title="Budget per agent (price: listed -> learned from actual costs)")
    agents.add_column("agent", no_wrap=True)
    for column in ("price", "limit", "spent", "reserved", "left"):
        agents.add_column(column, justify="right")
    listed = {a["name"]: a["price"] for a in report["agents"]}
    for name, row in budget["agents"].items():
        agents.add_row(
            name,
            f"{_money(listed.get(name, ''))} -> {_money(row['expected_price'])}",
            _money(row["limit"]),
            _money(row["spent"]),
            _money(row["reserved"]),
            _money(row["remaining"]),
        )
    agents.add_row(
        "total",
        "",
        _money(budget["total_budget"]),
        _money(budget["total_spent"]),
        _money(budget["total_reserved"]),
        _money(budget["total_remaining"]),
    )
    console.print(agents)

    accuracy = report["cost_accuracy"]
    table = Table(title="Cost accuracy (actual vs reserved)")
    for column in ("agent", "jobs", "expected", "actual", "bias", "MAPE"):
        table.add_column(column, justify="right" if column != "agent" else "left")
    for name, row in [*accuracy["per_agent"].items(), ("all", accuracy)]:
        table.add_row(
            name,
            str(row["count"]),
            _money(row["total_expected"]),
            _money(row["total_actual"]),
            _pct(row["bias_pct"]),
            _pct(row["mape_pct"]).lstrip("+"),
        )
    console.print(table)
    for advice in report["recommendations"]:
        console.print(f"- {advice['message']}")

    ops = report["ray_ops"]
    table = Table(title="Ray operations of the state layer")
    for column in ("pattern", "ray.get", "ray.put", "total"):
        table.add_column(column, justify="right" if column != "pattern" else "left")
    table.add_row(
        "eap-state (batched, cached)", *(str(ops["used"][k]) for k in ("get", "put", "total"))
    )
    table.add_row(
        "one get+put per update, get per check",
        *(str(ops["baseline"][k]) for k in ("get", "put", "total")),
    )
    console.print(table)
    console.print(
        f"{ops['saved_pct']} % fewer Ray operations over {ops['flushes']} flushes and "
        f"{ops['polls']} polls; finished in {report['elapsed_s']} s."
    )
    durable = report.get("durability")
    if durable:
        verdict = "the books balance" if durable["balanced"] else "THE BOOKS DO NOT BALANCE"
        console.print(
            f"Durable store {durable['store']!r} in {durable['journal']}: "
            f"{durable['commands']} commands journaled; its actor was killed "
            f"{durable['kills']} times and restarted from the journal; {verdict}."
        )
        for check, held in durable["checks"].items():
            console.print(f"  {'ok  ' if held else 'FAIL'} {check}")
