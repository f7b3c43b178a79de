"""Shared Hypothesis strategies: job and budget states, updates, configs and cost records.

States are always built through the public reducers, never by hand, so every
state a property sees is one a real driver could reach. Update and record
lists deliberately mix valid items with invalid ones (unknown keys, wrong
types, unknown ids, forbidden transitions, conflicting duplicates) and with
exact repeats, because batching must agree with one-at-a-time application on
failures and duplicates too, not only on the happy path.

Pools of ids are small on purpose: collisions (the same task updated twice,
the same job id recorded twice, a reservation id retried) are what the
properties are about.

The module also holds the shared property body `check_batch_matches_sequential`,
so the job, budget, batching and mutant tests all run the very same check.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from core import StateError, TaskStatus, TaskUpdate, add_tasks, apply_task_update, new_job
from core.budget.reducers import (
    BudgetError,
    BudgetState,
    new_budget,
    record_cost,
    release_reservation,
    reserve,
)
from core.jobs.job import JobExecution

__all__ = [
    "AGENT_NAMES",
    "ALL_AGENT_NAMES",
    "JOB_IDS",
    "NEW_AGENT_NAMES",
    "RESERVATION_IDS",
    "STATUS_VALUES",
    "TASK_IDS",
    "UNKNOWN_TASK_IDS",
    "agent_configs",
    "amounts",
    "as_fraction",
    "budget_configs",
    "budget_states",
    "check_batch_matches_sequential",
    "cost_record_lists",
    "cost_records",
    "job_ids",
    "jobs",
    "jobs_and_updates",
    "json_values",
    "redeliveries",
    "reservation_ids",
    "run_sequentially",
    "task_specs",
    "timestamps",
    "update_lists",
    "valid_updates",
]

# ---------------------------------------------------------------- pools

TASK_IDS: tuple[str, ...] = tuple(f"t{i}" for i in range(6))
UNKNOWN_TASK_IDS: tuple[str, ...] = ("t-unknown", "T0", "t0 ")
AGENT_NAMES: tuple[str, ...] = ("alpha", "beta", "gamma")
#: Agents that no config names: reserving or recording for them adds them.
NEW_AGENT_NAMES: tuple[str, ...] = ("delta", "omega")
ALL_AGENT_NAMES: tuple[str, ...] = AGENT_NAMES + NEW_AGENT_NAMES
JOB_IDS: tuple[str, ...] = tuple(f"job-{i}" for i in range(6))
RESERVATION_IDS: tuple[str, ...] = tuple(f"res-{i}" for i in range(4))
STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in TaskStatus)

_ALLOWED_NEXT: dict[str, tuple[str, ...]] = {
    "pending": ("pending", "running", "completed", "failed"),
    "running": ("running", "completed", "failed"),
    "completed": ("completed",),
    "failed": ("failed",),
}

job_ids = st.sampled_from(JOB_IDS)
_any_agent = st.sampled_from(ALL_AGENT_NAMES)
reservation_ids = st.sampled_from(RESERVATION_IDS)

timestamps = st.integers(0, 2_000_000_000) | st.floats(
    min_value=0, max_value=2e9, allow_nan=False, allow_infinity=False
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=4)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
)

#: JSON-like caller data: task inputs and results.
json_values = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=6,
)

# ---------------------------------------------------------------- jobs


def task_specs(task_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """A task mapping for `add_tasks`, with optional input and round."""
    return st.fixed_dictionaries(
        {"task_id": st.just(task_id), "agent_name": st.sampled_from(AGENT_NAMES)},
        optional={"input_data": json_values, "round": st.integers(1, 3)},
    )


def _status_spelling(value: str) -> st.SearchStrategy[Any]:
    # TaskStatus is a str enum: both spellings must behave the same.
    return st.sampled_from((value, TaskStatus(value)))


def valid_updates(task_id: str, status: str) -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed update of ``task_id`` to ``status`` (the transition may still be invalid)."""
    return st.fixed_dictionaries(
        {"task_id": st.just(task_id), "status": _status_spelling(status)},
        optional={
            "result": json_values,
            "error": st.none() | st.text(max_size=5),
            "at": st.none() | timestamps,
        },
    )


@st.composite
def jobs(draw: st.DrawFn, max_steps: int = 6, min_tasks: int = 0) -> JobExecution:
    """A job whose tasks are in mixed statuses, reached through `add_tasks` and valid updates.

    Tasks are added in two chunks with progress in between, so a job that
    completed and then got more tasks is among the states drawn.
    """
    job = new_job(
        draw(st.sampled_from(("job-a", "job-b"))),
        draw(st.text(max_size=6)),
        draw(st.none() | timestamps),
    )
    ids = draw(
        st.lists(st.sampled_from(TASK_IDS), unique=True, min_size=min_tasks, max_size=len(TASK_IDS))
    )
    cut = draw(st.integers(0, len(ids)))
    for chunk in (ids[:cut], ids[cut:]):
        job = add_tasks(job, [draw(task_specs(task_id)) for task_id in chunk])
        for _ in range(draw(st.integers(0, max_steps))):
            if not job.tasks:
                break
            task_id = draw(st.sampled_from(list(job.task_order)))
            current = job.tasks[task_id].status.value
            status = draw(st.sampled_from(_ALLOWED_NEXT[current]))
            job = apply_task_update(job, draw(valid_updates(task_id, status)))
    return job


_UPDATE_KINDS = (
    ("valid",) * 6
    + ("repeat",) * 2
    + ("task_update", "unknown_task", "unknown_key", "missing_key", "bad_type", "not_mapping")
)

_BAD_VALUES: dict[str, tuple[Any, ...]] = {
    "task_id": (0, "", None, b"t0"),
    "status": ("done", "RUNNING", 1, None),
    "error": (5, b"boom"),
    "at": ("now", True, float("nan"), float("inf")),
}


@st.composite
def update_lists(draw: st.DrawFn, job: JobExecution, max_size: int = 8) -> list[Any]:
    """Updates for ``job``: mostly well-formed, some invalid of every kind, some repeated."""
    known = list(job.task_order) or [TASK_IDS[0]]
    out: list[Any] = []
    for _ in range(draw(st.integers(0, max_size))):
        kind = draw(st.sampled_from(_UPDATE_KINDS))
        if kind == "repeat" and out:
            out.append(draw(st.sampled_from(out)))
            continue
        base = draw(
            valid_updates(draw(st.sampled_from(known)), draw(st.sampled_from(STATUS_VALUES)))
        )
        if kind == "task_update":
            out.append(TaskUpdate(**base))
        elif kind == "unknown_task":
            out.append({**base, "task_id": draw(st.sampled_from(UNKNOWN_TASK_IDS))})
        elif kind == "unknown_key":
            out.append({**base, draw(st.sampled_from(("state", "task", "at "))): 1})
        elif kind == "missing_key":
            drop = draw(st.sampled_from(("task_id", "status")))
            out.append({k: v for k, v in base.items() if k != drop})
        elif kind == "bad_type":
            field = draw(st.sampled_from(sorted(_BAD_VALUES)))
            out.append({**base, field: draw(st.sampled_from(_BAD_VALUES[field]))})
        elif kind == "not_mapping":
            out.append(draw(st.sampled_from((None, "t0", ("t0", "running"), ["t0"]))))
        else:
            out.append(base)
    return out


@st.composite
def jobs_and_updates(draw: st.DrawFn, max_size: int = 8) -> tuple[JobExecution, list[Any]]:
    """A job and a mixed list of updates for it."""
    job = draw(jobs())
    return job, draw(update_lists(job, max_size=max_size))


# ---------------------------------------------------------------- money


def _spell(cents: int, form: str) -> Any:
    text = f"{cents // 100}.{cents % 100:02d}"
    if form == "int" and cents % 100 == 0:
        return cents // 100
    if form == "decimal":
        return Decimal(text)
    if form == "float":
        return float(text)
    return text


@st.composite
def amounts(draw: st.DrawFn, max_cents: int = 5_000) -> Any:
    """A valid amount of whole cents spelt as int, str, Decimal or float."""
    cents = draw(st.integers(0, max_cents))
    return _spell(cents, draw(st.sampled_from(("int", "str", "decimal", "float"))))


def as_fraction(amount: Any) -> Fraction:
    """The exact value an amount input stands for (a float means its shortest repr)."""
    if isinstance(amount, float):
        return Fraction(repr(amount))
    if isinstance(amount, str):
        return Fraction(amount.strip())
    return Fraction(amount)


def redeliveries(record: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The same charge delivered again: amounts possibly respelt, ``at`` possibly re-stamped."""
    return st.fixed_dictionaries(
        {
            **{k: st.just(v) for k, v in record.items() if k != "at"},
            "expected": _respell(record["expected"]),
            "actual": _respell(record["actual"]),
        },
        optional={"at": st.none() | timestamps},
    )


def _respell(amount: Any) -> st.SearchStrategy[Any]:
    """The same amount, possibly spelt differently (``1.5`` vs ``"1.50"`` vs ``Decimal``)."""
    exact = Decimal(str(amount))
    padded = f"{exact:f}" + ("0" if "." in f"{exact:f}" else ".00")
    return st.sampled_from((amount, exact, f"{exact:f}", padded, Decimal(padded)))


# ---------------------------------------------------------------- budgets


@st.composite
def budget_configs(draw: st.DrawFn) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(budget_config, agents_config)``: total and agent limits either set or unlimited."""
    total_kind = draw(st.sampled_from(("amount", "amount", "missing", "none", "no_block")))
    budget_config: dict[str, Any] | None = {}
    if total_kind == "amount":
        budget_config = {"total_budget": draw(amounts(max_cents=60_000))}
    elif total_kind == "none":
        budget_config = {"total_budget": None}
    elif total_kind == "no_block":
        budget_config = None
    agents = []
    for name in draw(st.lists(st.sampled_from(AGENT_NAMES), unique=True, min_size=1)):
        agent: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            agent["price"] = draw(amounts(max_cents=5_000))
        limit = draw(st.sampled_from(("amount", "missing", "none")))
        if limit == "amount":
            agent["max_total_spend"] = draw(amounts(max_cents=30_000))
        elif limit == "none":
            agent["max_total_spend"] = None
        agents.append(agent)
    return budget_config, agents


def agent_configs() -> st.SearchStrategy[dict[str, Any] | None]:
    """The config block passed to `reserve` (used only for an agent the state lacks)."""
    return st.none() | st.fixed_dictionaries({}, optional={"price": amounts(max_cents=5_000)})


def cost_records(
    job_id: st.SearchStrategy[str] = job_ids,
    agent_name: st.SearchStrategy[str] = _any_agent,
) -> st.SearchStrategy[dict[str, Any]]:
    """A valid cost record mapping, with or without ``at``."""
    return st.fixed_dictionaries(
        {
            "agent_name": agent_name,
            "job_id": job_id,
            "expected": amounts(max_cents=5_000),
            "actual": amounts(max_cents=8_000),
        },
        optional={"at": st.none() | timestamps},
    )


@st.composite
def budget_states(draw: st.DrawFn, max_ops: int = 10) -> BudgetState:
    """A budget after random reserves, releases and cost records, built through the reducers."""
    budget_config, agents_config = draw(budget_configs())
    state = new_budget(budget_config, agents_config)
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(st.sampled_from(("reserve", "reserve", "record", "release")))
        if op == "reserve":
            agent = draw(st.sampled_from(ALL_AGENT_NAMES))
            rid = draw(st.none() | reservation_ids)
            config = draw(agent_configs())
            # BudgetError: the reservation id was used for another agent.
            with contextlib.suppress(BudgetError):
                _, state = reserve(state, agent, config, rid)
        elif op == "record":
            record = draw(cost_records())
            if record["job_id"] not in state.records_by_job:
                state = record_cost(state, record)
        elif state.agents:
            agent = draw(st.sampled_from(sorted(state.agents)))
            state = release_reservation(state, agent, draw(amounts(max_cents=5_000)))
    return state


_RECORD_KINDS = ("fresh",) * 4 + ("duplicate",) * 3 + ("conflict", "invalid")

_BAD_RECORD_VALUES: dict[str, tuple[Any, ...]] = {
    "expected": (-1, "-0.01", float("nan"), None, True, "abc"),
    "actual": (float("inf"), "1e999999999", None, False, [1]),
    "agent_name": ("", " ", 7, None),
    "job_id": ("", None, 3),
    "at": ("now", float("nan"), True),
}


@st.composite
def cost_record_lists(draw: st.DrawFn, max_size: int = 8) -> list[Any]:
    """Cost records with exact duplicates (respelt, re-stamped), conflicting ones and bad ones."""
    out: list[Any] = []
    valid: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, max_size))):
        kind = draw(st.sampled_from(_RECORD_KINDS))
        if kind == "duplicate" and valid:
            first = draw(st.sampled_from(valid))
            again = {
                **first,
                "expected": draw(_respell(first["expected"])),
                "actual": draw(_respell(first["actual"])),
            }
            if draw(st.booleans()):
                again["at"] = draw(st.none() | timestamps)
            out.append(again)
        elif kind == "conflict" and valid:
            first = draw(st.sampled_from(valid))
            field = draw(st.sampled_from(("agent_name", "expected", "actual")))
            if field == "agent_name":
                other = [a for a in ALL_AGENT_NAMES if a != first["agent_name"]]
                changed: Any = draw(st.sampled_from(other))
            else:
                changed = f"{Decimal(str(first[field])) + Decimal('0.01'):f}"
            out.append({**first, field: changed})
        elif kind == "invalid":
            base = draw(cost_records())
            how = draw(st.sampled_from(("bad_value", "unknown_key", "missing_key", "not_mapping")))
            if how == "bad_value":
                field = draw(st.sampled_from(sorted(_BAD_RECORD_VALUES)))
                out.append({**base, field: draw(st.sampled_from(_BAD_RECORD_VALUES[field]))})
            elif how == "unknown_key":
                out.append({**base, "cost": 1})
            elif how == "missing_key":
                drop = draw(st.sampled_from(("agent_name", "job_id", "expected", "actual")))
                out.append({k: v for k, v in base.items() if k != drop})
            else:
                out.append(draw(st.sampled_from((None, "job-0", ["job-0", 1]))))
        else:
            record = draw(cost_records())
            valid.append(record)
            out.append(record)
    return out


# ---------------------------------------------------------------- shared property bodies


def run_sequentially(
    state: Any, items: list[Any], single: Callable[[Any, Any], Any]
) -> tuple[Any, tuple[int, StateError] | None]:
    """Apply ``items`` one at a time; stop at the first error and return it with its index."""
    for index, item in enumerate(items):
        try:
            state = single(state, item)
        except StateError as err:
            return state, (index, err)
    return state, None


def check_batch_matches_sequential(
    state: Any,
    items: list[Any],
    batch: Callable[[Any, Any], Any],
    single: Callable[[Any, Any], Any],
) -> None:
    """Assert ``batch(state, items)`` equals the one-at-a-time run, failures included.

    When the sequential run fails at item ``i``, the batch must raise the same
    error type naming index ``i`` and the same field, and ``state`` must be unchanged.
    """
    snapshot = pickle.loads(pickle.dumps(state))
    expected, failure = run_sequentially(state, items, single)
    event("one-at-a-time run " + ("succeeds" if failure is None else "fails"))
    if failure is None:
        try:
            got = batch(state, items)
        except StateError as err:
            raise AssertionError(f"batch failed, one at a time succeeded: {err}") from err
        assert got == expected
        return
    index, seq_err = failure
    try:
        batch(state, items)
    except StateError as err:
        assert type(err) is type(seq_err), (err, seq_err)
        assert err.index == index, (err, seq_err)
        assert err.field == seq_err.field, (err, seq_err)
        assert f"[{index}]" in str(err), err
    else:
        raise AssertionError(f"batch succeeded, but item [{index}] fails alone: {seq_err}")
    assert state == snapshot
