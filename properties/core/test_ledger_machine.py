"""A state machine that drives the ledger through crashes, torn writes, snapshots and resends.

Commands are applied to the live state with `apply_command` and their
entries appended to an in-memory journal only once applied (write-ahead as
the store does it). Next to it runs a plain model: dicts of task statuses,
versions and exact budget totals updated by the rules read literally. Steps
crash (the state is dropped and rebuilt from the journal), tear the last
entry (a write that never completed, then a crash), take a snapshot (or a
corrupt one) and resend an acknowledged command. After every step the
recovered state equals the live one, the live one matches the model, every
acknowledged command is in the journal exactly once, and the budget's
invariants hold on every prefix of the journal.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.errors import (
    BudgetError,
    DuplicateJobError,
    DuplicateTaskError,
    InvalidTransitionError,
    UnknownJobError,
)
from core.ledger import (
    Command,
    EncodedSnapshot,
    LedgerState,
    add_tasks_command,
    apply_command,
    checksum,
    close_job_command,
    create_job_command,
    create_store_command,
    decode_snapshot,
    encode_snapshot,
    encode_snapshot_since,
    job_version,
    open_ledger,
    record_costs_command,
    recover_state,
    release_command,
    reserve_command,
    update_tasks_command,
)
from core.ledger.state import job_summary

JOBS = st.sampled_from(["j1", "j2", "j3"])
TASKS = st.sampled_from(["t1", "t2", "t3"])
STATUSES = st.sampled_from(["pending", "running", "completed", "failed"])
RESERVATIONS = st.sampled_from([f"r{i}" for i in range(8)])
PAID_JOBS = st.sampled_from([f"p{i}" for i in range(6)])
TOTAL = 5
# A small window of remembered command ids, so that steps evict, snapshot and recover it.
REMEMBER = 6
_MOVES = {"pending": {"running", "completed", "failed"}, "running": {"completed", "failed"}}


class LedgerMachine(RuleBasedStateMachine):
    """The live ledger and its journal against a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        create = create_store_command(
            "create", {"total_budget": TOTAL}, [{"name": "a", "price": 1}]
        )
        self.state: LedgerState = open_ledger(create, REMEMBER)
        self.entries: list[tuple[int, str, str]] = [(1, create.body, checksum(create.body))]
        self.snapshots: list[tuple[int, str, str]] = []
        self.parts: dict[tuple[str, int], tuple[str, str]] = {}  # the journal's job parts
        self.damaged: set[tuple[str, int]] = set()
        self.encoded: EncodedSnapshot | None = None
        self.acked: list[tuple[Command, Any]] = [(create, None)]
        # The model: plain values, the rules read literally.
        self.tasks: dict[str, dict[str, str]] = {}
        self.versions: dict[str, int] = {}
        self.closed: set[str] = set()
        self.granted: set[str] = set()
        self.released: set[str] = set()
        self.reserved = Decimal(0)
        self.spent = Decimal(0)
        self.paid: set[str] = set()

    def _id(self) -> str:
        self.counter += 1
        return f"c{self.counter}"

    def _apply(self, command: Command) -> Any:
        """Apply, then journal, then acknowledge: the store's write-ahead order."""
        state, reply = apply_command(self.state, command)
        self.entries.append((state.applied, command.body, checksum(command.body)))
        self.state = state
        self.acked.append((command, reply))
        return reply

    def _refused(self, command: Command, error: type[Exception]) -> None:
        try:
            apply_command(self.state, command)
        except error:
            return
        raise AssertionError(f"{command.kind} should raise {error.__name__}")

    @rule(job_id=JOBS)
    def create_job(self, job_id: str) -> None:
        """Create a job; an id seen before is a DuplicateJobError."""
        command = create_job_command(self._id(), job_id, "d", float(self.counter))
        if job_id in self.versions:
            self._refused(command, DuplicateJobError)
            return
        assert self._apply(command) == job_id
        self.tasks[job_id], self.versions[job_id] = {}, 1

    @rule(job_id=JOBS, task_id=TASKS)
    def add_task(self, job_id: str, task_id: str) -> None:
        """Add a task; unknown or closed jobs and duplicate tasks are refused."""
        command = add_tasks_command(self._id(), job_id, [{"task_id": task_id, "agent_name": "a"}])
        if job_id not in self.tasks:
            self._refused(command, UnknownJobError)
        elif task_id in self.tasks[job_id]:
            self._refused(command, DuplicateTaskError)
        else:
            self.versions[job_id] += 1
            assert self._apply(command) == self.versions[job_id]
            self.tasks[job_id][task_id] = "pending"

    @rule(job_id=JOBS, task_id=TASKS, status=STATUSES)
    def update_task(self, job_id: str, task_id: str, status: str) -> None:
        """Move a task; a repeated status changes nothing, a forbidden move is refused."""
        if task_id not in self.tasks.get(job_id, {}):
            return
        command = update_tasks_command(
            self._id(), job_id, [{"task_id": task_id, "status": status}], float(self.counter)
        )
        current = self.tasks[job_id][task_id]
        if status != current and status not in _MOVES.get(current, set()):
            self._refused(command, InvalidTransitionError)
            return
        if status != current:
            self.versions[job_id] += 1
            self.tasks[job_id][task_id] = status
        assert self._apply(command) == self.versions[job_id]

    @rule(job_id=JOBS)
    def close_job(self, job_id: str) -> None:
        """Close a job: it leaves the open jobs, its summary stays."""
        command = close_job_command(self._id(), job_id)
        if job_id not in self.tasks:
            self._refused(command, UnknownJobError)
            return
        self._apply(command)
        self.closed.add(job_id)
        del self.tasks[job_id]

    @rule(reservation_id=RESERVATIONS)
    def reserve(self, reservation_id: str) -> None:
        """Reserve 1 under an id: granted while the budget affords it, once per id."""
        decision = self._apply(reserve_command(self._id(), "a", None, reservation_id))
        if reservation_id in self.granted:
            assert decision.can_afford
            return
        affordable = self.reserved + self.spent + 1 <= TOTAL
        assert decision.can_afford == affordable
        if affordable:
            self.granted.add(reservation_id)
            self.reserved += 1

    @rule(reservation_id=RESERVATIONS)
    def release(self, reservation_id: str) -> None:
        """Release a reservation by id: at most once; an id never granted is refused."""
        command = release_command(self._id(), "a", 1, reservation_id)
        if reservation_id not in self.granted:
            self._refused(command, BudgetError)
            return
        self._apply(command)
        if reservation_id not in self.released:
            self.released.add(reservation_id)
            self.reserved -= min(Decimal(1), self.reserved)

    @rule(paid=PAID_JOBS)
    def record_cost(self, paid: str) -> None:
        """Record a paid job once: it settles up to 1 reserved and spends 1."""
        record = {"agent_name": "a", "expected": 1, "actual": 1, "job_id": paid}
        self._apply(record_costs_command(self._id(), [record]))
        if paid not in self.paid:
            self.paid.add(paid)
            self.reserved -= min(Decimal(1), self.reserved)
            self.spent += 1

    @precondition(lambda self: len(self.acked) > 1)
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """Resending a remembered command returns its first reply and changes nothing."""
        command, reply = data.draw(st.sampled_from(self.acked[1:]))
        if command.command_id not in self._window():
            # Evicted: the store no longer knows it (the window's documented limit).
            assert command.command_id not in self.state.replies
            assert self.state.replies.get(command.command_id) is None
            return
        state, again = apply_command(self.state, command)
        assert state is self.state and again == reply

    def _window(self) -> list[str]:
        """The model of the remembered ids: the last `REMEMBER` acknowledged, oldest first."""
        return [command.command_id for command, _ in self.acked[-REMEMBER:]]

    def _recover(self) -> LedgerState:
        recovered = recover_state(
            reversed(self.snapshots),
            lambda after: [e for e in self.entries if e[0] > after],
            REMEMBER,
            self._read_part,
        )
        # The store removes a dropped torn tail before it writes again.
        self.entries = [e for e in self.entries if e[0] <= recovered.state.applied]
        return recovered.state

    @rule()
    def crash(self) -> None:
        """Drop the live state and rebuild it from the journal."""
        self.state = self._recover()

    @rule(cut=st.integers(min_value=0, max_value=60))
    def tear_and_crash(self, cut: int) -> None:
        """A write torn mid-way (never acknowledged), then a crash: the tail is dropped."""
        command = create_job_command(self._id(), "torn", "never acknowledged", None)
        body = command.body[: min(cut, len(command.body) - 1)]
        self.entries.append((self.state.applied + 1, body, checksum(command.body)))
        self.state = self._recover()
        assert "torn" not in self.state.versions

    @rule(damage=st.sampled_from(["none", "snapshot", "part"]))
    def snapshot(self, damage: str) -> None:
        """Write a snapshot of the live state; a damaged one (or part) recovery must skip."""
        # As the store writes them: the jobs unchanged since the last keep their parts.
        encoded = encode_snapshot_since(self.state, self.encoded)
        self.encoded = encoded
        # Reused or new, every part is exactly the text the job has inline.
        inline = json.loads(encode_snapshot(self.state))["jobs"]
        assert [json.loads(part.text) for part in encoded.parts] == inline
        assert encoded.seq == self.state.applied
        for part in encoded.new_parts:
            self.parts[(part.job_id, part.seq)] = (part.text, part.checksum)
            self.damaged.discard((part.job_id, part.seq))
        text, check = encoded.text, checksum(encoded.text)
        # A part damaged in storage spoils every later snapshot that keeps it too.
        refers = {(part.job_id, part.seq) for part in encoded.parts}
        if damage == "snapshot":
            text = text[: len(text) // 2]
        elif damage == "part" and encoded.new_parts:
            torn = encoded.new_parts[0]
            self.parts[(torn.job_id, torn.seq)] = (torn.text[:-1], torn.checksum)
            self.damaged.add((torn.job_id, torn.seq))
        elif not refers & self.damaged:
            # A good snapshot must read back as it is, with its parts or self-contained:
            # recovery would hide a bad one behind a longer replay.
            assert decode_snapshot(text, check, self._read_part) == self.state
            whole = encode_snapshot(self.state)
            assert decode_snapshot(whole, checksum(whole)) == self.state
        self.snapshots.append((self.state.applied, text, check))

    def _read_part(self, job_id: str, seq: int) -> tuple[str, str] | None:
        return self.parts.get((job_id, seq))

    @invariant()
    def recovered_equals_live(self) -> None:
        """What the journal rebuilds is exactly the live state."""
        assert self._recover() == self.state

    @invariant()
    def live_matches_model(self) -> None:
        """Statuses, versions, closed jobs and budget totals equal the model's."""
        for job_id, tasks in self.tasks.items():
            job = self.state.jobs[job_id]
            assert {t.task_id: t.status.value for t in job.tasks.values()} == tasks
        assert set(self.state.jobs) == set(self.tasks)
        for job_id, version in self.versions.items():
            assert job_version(self.state, job_id) == version
        for job_id in self.closed:
            assert job_summary(self.state, job_id)["job_id"] == job_id
        assert self.state.budget.total_reserved == self.reserved
        assert self.state.budget.total_spent == self.spent
        assert list(self.state.replies) == self._window()

    @invariant()
    def every_ack_journaled_once(self) -> None:
        """Every acknowledged command id appears in the journal exactly once, in order."""
        ids = [c.command_id for c, _ in self.acked]
        journaled = [body.split('"id":"')[1].split('"')[0] for _, body, _ in self.entries]
        assert journaled == ids

    @invariant()
    def budget_holds_on_every_prefix(self) -> None:
        """On every prefix: reservations >= 0 and add up, spend is the sum of records."""
        state: LedgerState | None = None
        for command, _ in self.acked:
            if state is None:
                state = open_ledger(command, REMEMBER)
            else:
                state = apply_command(state, command)[0]
            budget = state.budget
            assert 0 <= budget.total_reserved <= TOTAL
            assert budget.total_reserved == sum(a.reserved for a in budget.agents.values())
            assert budget.total_spent == sum(r.actual for r in budget.cost_records)


# Each step replays the whole journal twice over: a third of the profile's examples suffice.
LedgerMachine.TestCase.settings = settings(
    stateful_step_count=30, max_examples=max(10, settings.default.max_examples // 3)
)
test_ledger_machine = LedgerMachine.TestCase
test_ledger_machine.__doc__ = "Crashes, torn writes, snapshots and resends never lose or repeat."
