"""The state-owning side of `shell.store.StateStore`: a plain class Ray runs as one actor.

`StoreCore` holds the store's whole state, one `core.ledger.LedgerState`,
and changes it only through `core.ledger.apply_command`, one command at a
time: Ray runs a sync actor's methods one at a time, and no method awaits
between reading the state and writing the new one. It reads no clock:
commands arrive stamped by the caller.

With a journal the actor is write-ahead: it computes the new state, appends
the command to the journal and commits it, and only then publishes the state
and replies. A command the core refuses is never journaled. The commands of
one call (a handle's coalesced calls) share one commit. With
``group_commit=True`` the actor runs calls on several threads, so that calls
arriving while a commit is under way share the next (one sync for several
writers): each command is applied in turn under a lock to a "head" state,
and the first caller to find its entry unwritten commits every pending entry
at once. On one thread that caller is always the call itself. Readers see
only the published (committed) state. After a journal failure every pending
command fails, and the actor rebuilds from the journal before the next call
(the failed commit may have landed). Being plain Python, it is also testable without Ray.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from typing import Any

from core.budget.reducers import BudgetState
from core.budget.summary import summarize_budget
from core.errors import DuplicateJobError, UnknownJobError, describe
from core.jobs.job import JobExecution
from core.ledger import (
    Command,
    LedgerState,
    apply_command,
    command_from_wire,
    job_state,
    job_summary,
    job_version,
    job_versions,
    open_ledger,
    poll_job,
)
from shell._changes import ChangeBoard, Waiting
from shell._snapshots import SnapshotWriter
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
        self._snapshots = None if journal is None else SnapshotWriter(journal, self._name)
        self._create = create
        self._snapshot_every = snapshot_every
        self._recoveries = 0
        # The published state (every command in it committed) and the head: the
        # published one plus the commands applied but not yet committed.
        self._state: LedgerState | None = None
        self._board = ChangeBoard()  # what waiting calls read (shell._changes)
        self._head: LedgerState | None = None
        self._pending: list[tuple[int, str]] = []
        self._lock = threading.Condition(threading.RLock())
        self._committing = False
        self._commits = 0
        # Bumped when a commit fails: every caller waiting on that head fails too.
        self._epoch = 0
        if self._journal is None:
            if create is None:
                raise UnknownStoreError("a store without a journal cannot be recovered")
            self._reset(open_ledger(create))
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
        self._state = self._head = None
        self._pending = []
        first_id = journal.first_command_id(self._name)
        if first_id is None:
            if create is None:
                raise UnknownStoreError(
                    f"journal {journal.describe()} holds no store named {describe(self._name)}",
                    field="name",
                    value=self._name,
                )
            state = open_ledger(create)
            journal.append(self._name, state.applied, create.body)
            self._reset(state)
        elif create is not None and create.command_id != first_id:
            raise StoreExistsError(
                f"journal {journal.describe()} already holds a store named {describe(self._name)}",
                field="name",
                value=self._name,
            )
        else:
            recovered = journal.recover(self._name)
            self._recoveries += 1
            self._reset(recovered.state)

    def _ready(self) -> LedgerState:
        """Return the published state, first rebuilding it from the journal when untrusted."""
        state = self._state
        if state is not None:
            return state
        with self._lock:
            if self._state is None:
                self._open()
            assert self._state is not None
            return self._state

    def _reset(self, state: LedgerState) -> None:
        """Start from ``state``, all of it committed (creation or recovery)."""
        self._head = state
        self._pending = []
        self._swap(state)

    def _swap(self, state: LedgerState) -> None:
        """Publish ``state``, every command of which is committed: the one place it changes."""
        self._state = state
        self._board.publish(state)

    def ping(self) -> str:
        """Return `PROTOCOL`; proves the actor is alive, is a store and has its state.

        Raises:
            JournalUnavailable: the state is still to be read from an unreachable journal.
        """
        self._ready()
        return PROTOCOL

    def execute(self, command: Command | str) -> Any:
        """Apply one command (write-ahead with a journal) and return its reply.

        ``command`` is a `Command`, or an update batch's journal entry, the form a
        handle sends (`core.ledger.command_to_wire`), checked like any wire input.

        A command id already applied returns its first reply and writes nothing
        (once that reply's command is committed).

        Raises:
            StateError: the core refused it (nothing changes, nothing is journaled),
                or `CommandConflictError` for a reused id with other arguments.
            JournalUnavailable: its commit was not confirmed, so it was not acknowledged
                (if the connection broke mid-commit it may have landed: a resend
                with the same command id answers which).
        """
        ((applied, reply),) = self._execute_all([command])
        if not applied:
            raise reply
        return reply

    def call_many(self, requests: Sequence[tuple[str, tuple[Any, ...]]]) -> list[tuple[bool, Any]]:
        """`Waiting.call_many`, where consecutive commands share one commit. O(sum of the requests).

        Each command still succeeds or fails alone, as if sent by itself; a
        journaled store commits a run of them in one transaction, as it
        would if their callers had sent them at the same moment (group commit).
        Any other request first waits for the commands before it.
        """
        replies: list[tuple[bool, Any]] = []
        commands: list[Command] = []
        for method, args in requests:
            if method == "execute" and isinstance(args, tuple) and len(args) == 1:
                commands.append(args[0])
                continue
            replies += self._execute_all(commands)
            commands = []
            replies += super().call_many([(method, args)])
        return replies + self._execute_all(commands)

    def _execute_all(self, commands: Sequence[Any]) -> list[tuple[bool, Any]]:
        """Apply commands in order, each alone, then commit them at once; O(sum of the commands).

        Returns:
            ``(True, reply)`` or ``(False, error)`` per command, in order: the
            core's refusal of one does not touch the others; a failed commit
            fails every command it held.
        """
        if not commands:
            return []
        outcomes: list[tuple[bool, Any]] = []
        with self._lock:
            try:
                self._ready()
            except Exception as err:  # as each command would have raised on its own
                return [(False, err)] * len(commands)
            last = 0
            for payload in commands:
                head = self._head
                assert head is not None
                try:
                    command = command_from_wire(payload)
                    state, reply = apply_command(head, command)
                except Exception as err:  # the wire is not trusted: any refusal is this call's
                    outcomes.append((False, err))
                    continue
                if self._journal is None:
                    if state is not head:
                        # In memory, applying is committing: publish it at once.
                        self._head = state
                        self._swap(state)
                elif state is not head:
                    self._head = state
                    self._pending.append((state.applied, command.body))
                # A resend's reply may belong to a command still pending: wait for it too.
                last = state.applied
                outcomes.append((True, reply))
            if self._journal is not None and last:
                try:
                    self._await_commit(last)
                except Exception as err:  # the commit holding them failed: none is acknowledged
                    return [(False, err if applied else reply) for applied, reply in outcomes]
        return outcomes

    def _await_commit(self, seq: int) -> None:
        """Return once entry ``seq`` is committed, committing the pending entries if no one is.

        Called with the lock held; it is released while the journal is written.

        Raises:
            JournalUnavailable: the commit that held ``seq`` failed.
        """
        epoch = self._epoch
        while True:
            if self._epoch != epoch:
                raise JournalUnavailable(
                    f"journal of store {self._name!r} failed to commit; not acknowledged",
                    field="journal",
                    value=self._name,
                )
            published = self._state
            if published is not None and published.applied >= seq:
                return
            if self._committing:
                self._lock.wait()
            else:
                self._commit_pending()

    def _commit_pending(self) -> None:
        """Commit every pending entry in one transaction, then publish the head it reached.

        Called with the lock held, released during the write so that more
        commands can queue for the next commit.
        """
        journal, batch, head = self._journal, self._pending, self._head
        assert journal is not None and head is not None
        self._pending = []
        self._committing = True
        failure: BaseException | None = None
        self._lock.release()
        try:
            journal.append_many(self._name, batch)
        except BaseException as err:  # whatever broke the write, the head is not durable
            failure = err
        finally:
            self._lock.acquire()
            self._committing = False
        if failure is None:
            self._commits += 1
            before = self._state.applied if self._state is not None else 0
            self._swap(head)
            if head.applied // self._snapshot_every > before // self._snapshot_every:
                assert self._snapshots is not None
                self._snapshots.request(head)
        else:
            # The commit may have landed before the connection broke: re-read first.
            self._epoch += 1
            self._state = self._head = None
            self._pending = []
        self._lock.notify_all()
        if failure is not None:
            raise failure

    def wait_for_snapshots(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the snapshots being written; True when done.

        Snapshots are written off the commit path (`shell._snapshots`); a test,
        or an operator about to stop the store, can wait for them here.
        """
        return self._snapshots is None or self._snapshots.wait(timeout)

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
        """Return every job id with its version (closed too), sorted by id; O(jobs log jobs)."""
        return job_versions(self._ready())

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
        """Return the store's bookkeeping: commands, jobs, recoveries, commits, snapshots, its pid.

        ``snapshots`` counts those this process has written (they are written
        in the background, shortly after every ``snapshot_every`` commands).
        """
        state = self._ready()
        return {
            "applied": state.applied,
            "open_jobs": len(state.jobs),
            "closed_jobs": len(state.closed),
            "budget_version": state.budget_version,
            "journal": None if self._journal is None else self._journal.describe(),
            "recoveries": self._recoveries,
            "commits": self._commits,
            "snapshots": 0 if self._snapshots is None else self._snapshots.written,
            "pid": os.getpid(),
        }

    @property
    def state(self) -> LedgerState:
        """The current state (for tests that run the class without Ray)."""
        return self._ready()
