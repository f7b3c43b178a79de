"""The state-owning side of `shell.store.StateStore`: a plain class Ray runs as one actor.

`StoreCore` holds the store's whole state, one `core.ledger.LedgerState`,
and changes it only through `core.ledger.apply_command`, one command at a
time: Ray runs a sync actor's methods one at a time, and no method awaits
between reading the state and writing the new one. It reads no clock:
commands arrive stamped by the caller.

With a journal the actor is write-ahead: it computes the new state, appends
the command to the journal and commits it, and only then swaps its state and
replies. A command the core refuses is never journaled. After a journal
failure the actor trusts its memory no more and rebuilds from the journal
before the next command (the failed commit may have landed). Being plain
Python, it is also testable without Ray.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from core.budget.reducers import BudgetState
from core.budget.summary import summarize_budget
from core.errors import DuplicateJobError, StateError, UnknownJobError
from core.jobs.job import JobExecution
from core.ledger import (
    Command,
    LedgerState,
    apply_command,
    encode_snapshot,
    job_state,
    job_summary,
    job_version,
    open_ledger,
    poll_job,
)
from shell._changes import ChangeBoard, Waiting
from shell.errors import JournalUnavailable, StoreExistsError, UnknownStoreError
from shell.journal import Journal, open_journal

__all__ = [
    "PROTOCOL",
    "STORE_METHODS",
    "DuplicateJobError",
    "StoreCore",
    "UnknownJobError",
]

#: Answer of `StoreCore.ping`, so `StateStore.connect` can tell a store from another actor.
PROTOCOL = "eap-state/store/2"
#: The methods a handle calls; `StateStore.connect` checks the actor has every one.
STORE_METHODS = (
    "ping",
    "execute",
    "job_summary",
    "job_state",
    "job_version",
    "poll_job",
    "budget_summary",
    "budget_state",
    "store_info",
    "wait_job",
    "wait_budget",
    "call_many",
)


class StoreCore(Waiting):
    """Every job and the budget of one store; the body of the StateStore actor.

    Args:
        create: The store's ``create_store`` command, or None to recover the
            store ``name`` from ``journal``.
        journal: A journal URL (`shell.journal.open_journal`), or None to keep
            the state in memory only.
        name: The store's name in the journal (needed with a journal).
        snapshot_every: Write a snapshot after every this many commands.

    Raises:
        BudgetError: the config is invalid.
        StoreExistsError: ``create`` given, but the journal already holds another
            store of that name (the same ``create`` again is a restart: it recovers).
        UnknownStoreError: ``create`` is None and the journal holds no such store.

    An unreachable journal does not fail the constructor: every call raises
    `JournalUnavailable` until the database answers and the state is read.
    """

    def __init__(
        self,
        create: Command | None,
        journal: str | None = None,
        name: str | None = None,
        snapshot_every: int = 1000,
    ) -> None:
        self._journal: Journal | None = None if journal is None else open_journal(journal)
        self._name = name or ""
        self._create = create
        self._snapshot_every = snapshot_every
        self._recoveries = 0
        self._state: LedgerState | None = None
        self._board = ChangeBoard()  # what waiting calls read (shell._changes)
        if self._journal is None:
            if create is None:
                raise UnknownStoreError("a store without a journal cannot be recovered")
            self._swap(open_ledger(create))
            return
        # A restart while the database is away must not kill the actor for
        # good (Ray does not restart an actor whose constructor raised): the
        # state stays unread and every call retries until the database answers.
        with contextlib.suppress(JournalUnavailable):
            self._open()

    def _open(self) -> None:
        """Create the store in the journal, or recover it (a restart, or `recover`).

        Raises:
            StoreExistsError, UnknownStoreError: as for the constructor.
            JournalUnavailable: the database cannot be reached; the store stays closed.
        """
        journal, create = self._journal, self._create
        assert journal is not None
        self._state = None
        first_id = journal.first_command_id(self._name)
        if first_id is None:
            if create is None:
                raise UnknownStoreError(
                    f"journal {journal.describe()} holds no store named {self._name!r}",
                    field="name",
                    value=self._name,
                )
            state = open_ledger(create)
            journal.append(self._name, state.applied, create.body)
            self._swap(state)
        elif create is not None and create.command_id != first_id:
            raise StoreExistsError(
                f"journal {journal.describe()} already holds a store named {self._name!r}",
                field="name",
                value=self._name,
            )
        else:
            recovered = journal.recover(self._name)
            self._recoveries += 1
            self._swap(recovered.state)

    def _ready(self) -> LedgerState:
        """Return the state, first rebuilding it from the journal when it is not trusted."""
        if self._state is None:
            self._open()
        assert self._state is not None
        return self._state

    def _swap(self, state: LedgerState) -> None:
        """Make ``state`` the store's state: the one place a new state is published."""
        self._state = state
        self._board.publish(state)

    def ping(self) -> str:
        """Return `PROTOCOL`; proves the actor is alive, is a store and has its state.

        Raises:
            JournalUnavailable: the state is still to be read from an unreachable journal.
        """
        self._ready()
        return PROTOCOL

    def execute(self, command: Command) -> Any:
        """Apply one command (write-ahead with a journal) and return its reply.

        A command id already applied returns its first reply and writes nothing.

        Raises:
            StateError: the core refused it (nothing changes, nothing is journaled),
                or `CommandConflictError` for a reused id with other arguments.
            JournalUnavailable: its commit was not confirmed, so it was not acknowledged
                (if the connection broke mid-commit it may have landed: a resend
                with the same command id answers which).
        """
        current = self._ready()
        state, reply = apply_command(current, command)
        if state is current:
            return reply
        if self._journal is not None:
            try:
                self._journal.append(self._name, state.applied, command.body)
            except JournalUnavailable:
                # The commit may have landed before the connection broke: re-read first.
                self._state = None
                raise
            if state.applied % self._snapshot_every == 0:
                self._snapshot(state)
        self._swap(state)
        return reply

    def _snapshot(self, state: LedgerState) -> None:
        """Write a snapshot; a failure only costs a longer replay, so it is not the caller's."""
        assert self._journal is not None
        with contextlib.suppress(StateError):
            self._journal.write_snapshot(self._name, state.applied, encode_snapshot(state))

    def job_summary(self, job_id: str) -> dict[str, Any]:
        """Return `core.jobs.summary.summarize_job` of the job, or a closed job's final one.

        Raises:
            UnknownJobError: no such job.
        """
        return job_summary(self._ready(), job_id)

    def job_state(self, job_id: str) -> JobExecution:
        """Return an open job's current immutable state.

        Raises:
            UnknownJobError: no such open job.
        """
        return job_state(self._ready(), job_id)

    def job_version(self, job_id: str) -> int:
        """Return the job's version: 1 at creation, +1 per change.

        Raises:
            UnknownJobError: no such job.
        """
        return job_version(self._ready(), job_id)

    def list_jobs(self) -> dict[str, int]:
        """Return every job id (open or closed) with its version, in id order; O(n log n)."""
        return dict(sorted(self._ready().versions.items()))

    def poll_job(self, job_id: str, since_version: int | None) -> tuple[int, dict[str, Any] | None]:
        """Return ``(version, summary)``, with ``summary`` None when ``version == since_version``.

        Raises:
            UnknownJobError: no such job.
        """
        return poll_job(self._ready(), job_id, since_version)

    def budget_summary(self) -> dict[str, Any]:
        """Return `core.budget.summary.summarize_budget` of the budget."""
        return summarize_budget(self._ready().budget)

    def budget_state(self) -> BudgetState:
        """Return the current immutable budget state."""
        return self._ready().budget

    def store_info(self) -> dict[str, Any]:
        """Return the store's bookkeeping: commands applied, jobs, recoveries, its process id."""
        state = self._ready()
        return {
            "applied": state.applied,
            "open_jobs": len(state.jobs),
            "closed_jobs": len(state.closed),
            "budget_version": state.budget_version,
            "journal": None if self._journal is None else self._journal.describe(),
            "recoveries": self._recoveries,
            "pid": os.getpid(),
        }

    @property
    def state(self) -> LedgerState:
        """The current state (for tests that run the class without Ray)."""
        return self._ready()
