"""What every journal backend does, written once over a small set of SQL statements.

A journal is three tables in one database, keyed by the store's name, so one
database holds many stores: ``eap_state_entries`` (one row per applied
command, ``seq`` 1, 2, 3, ...), ``eap_state_snapshots`` (the whole state
after entry ``seq``) and ``eap_state_snapshot_parts`` (open jobs' texts that
snapshots refer to, `core.ledger.snapshot.JobPart`; ``last_seq`` is the newest
snapshot that refers to one, so a part outlives every snapshot kept that needs
it). A backend supplies a connection and its placeholder style; appending,
reading and recovering are the same SQL for both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from core.ledger import JobPart, Recovered, checksum, recover_state
from shell.errors import JournalUnavailable

__all__ = ["SNAPSHOTS_KEPT", "Journal"]

#: How many snapshots a store keeps (older ones are deleted; the entries never are).
SNAPSHOTS_KEPT = 3

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS eap_state_entries (store TEXT NOT NULL, seq BIGINT NOT NULL, "
    "body TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (store, seq))",
    "CREATE TABLE IF NOT EXISTS eap_state_snapshots (store TEXT NOT NULL, seq BIGINT NOT NULL, "
    "body TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (store, seq))",
    "CREATE TABLE IF NOT EXISTS eap_state_snapshot_parts (store TEXT NOT NULL, "
    "job_id TEXT NOT NULL, seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, body TEXT NOT NULL, "
    "checksum TEXT NOT NULL, PRIMARY KEY (store, job_id, seq))",
)
# Writes of one snapshot, in one transaction: its new parts, the parts it keeps
# (their last_seq moves up), itself, then what no kept snapshot needs any more.
_INSERT_PART = (
    "INSERT INTO eap_state_snapshot_parts (store, job_id, seq, last_seq, body, checksum) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_KEEP_PART = (
    "UPDATE eap_state_snapshot_parts SET last_seq = ? WHERE store = ? AND job_id = ? AND seq = ?"
)
_INSERT_SNAPSHOT = (
    "INSERT INTO eap_state_snapshots (store, seq, body, checksum) VALUES (?, ?, ?, ?)"
)
_DROP_OLD_SNAPSHOTS = (
    "DELETE FROM eap_state_snapshots WHERE store = ? AND seq NOT IN (SELECT seq FROM "
    f"eap_state_snapshots WHERE store = ? ORDER BY seq DESC LIMIT {SNAPSHOTS_KEPT})"
)
_DROP_UNNEEDED_PARTS = (
    "DELETE FROM eap_state_snapshot_parts WHERE store = ? AND last_seq < "
    "(SELECT MIN(seq) FROM eap_state_snapshots WHERE store = ?)"
)


class Journal(ABC):
    """A store journal in one database; open one with `shell.journal.open_journal`.

    Every method raises `JournalUnavailable` when the database cannot be
    reached or refuses the write; a failed append leaves nothing acknowledged.
    """

    #: The SQL placeholder of the backend's driver ("?" or "%s").
    placeholder = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: Any = None

    @abstractmethod
    def _connect(self) -> Any:
        """Return a new autocommit connection to the database."""

    @abstractmethod
    def _is_database_error(self, err: BaseException) -> bool:
        """True when ``err`` is the driver's own error (not a bug in this code)."""

    def describe(self) -> str:
        """The journal's URL without a password, for messages."""
        head, sep, tail = self.url.partition("@")
        if not sep or ":" not in head.split("//", 1)[-1]:
            return self.url
        scheme, _, user = head.partition("//")
        return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    @abstractmethod
    def _transaction(self, steps: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run each ``(statement, rows)`` once per row, all in one transaction; commit on return."""

    def _run(self, statement: str, params: tuple[Any, ...] = (), fetch: bool = False) -> Any:
        """Run one statement in its own transaction; its rows when ``fetch``."""

        def execute() -> Any:
            cursor = self._connection.execute(self._sql(statement), params)
            return cursor.fetchall() if fetch else None

        return self._attempt(execute)

    def _write(self, steps: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Run each ``(statement, rows)`` once per row, all in one transaction."""
        self._attempt(
            lambda: self._transaction([(self._sql(sql), rows) for sql, rows in steps if rows])
        )

    def _attempt(self, action: Callable[[], Any]) -> Any:
        """Return ``action()``, connecting first if needed; a database error is JournalUnavailable.

        A dropped connection is closed; the next call opens a new one.
        """
        try:
            if self._connection is None:
                self._connection = self._connect()
                for create in _SCHEMA:
                    self._create_table(create)
            return action()
        except Exception as err:
            if not self._is_database_error(err):
                raise
            self.close()
            raise JournalUnavailable(
                f"journal {self.describe()} failed: {type(err).__name__}: {err}",
                field="journal",
                value=self.describe(),
            ) from err

    def _create_table(self, statement: str) -> None:
        self._connection.execute(statement)

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as err:
                if not self._is_database_error(err):
                    raise

    def has_store(self, name: str) -> bool:
        """True when the journal holds a store of this name."""
        rows = self._run(
            "SELECT 1 FROM eap_state_entries WHERE store = ? AND seq = 1", (name,), True
        )
        return bool(rows)

    def first_command_id(self, name: str) -> str | None:
        """Return the id of the command that created the store ``name`` (None: no such store)."""
        rows = self._run(
            "SELECT body FROM eap_state_entries WHERE store = ? AND seq = 1", (name,), True
        )
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
        except ValueError:
            return None
        found = data.get("id") if isinstance(data, dict) else None
        return found if isinstance(found, str) else None

    def append(self, name: str, seq: int, body: str) -> None:
        """Write and commit entry ``seq``; return only once it is durable.

        Raises:
            JournalUnavailable: not committed (the database is unreachable, or
                ``seq`` is taken: another writer got there first).
        """
        self.append_many(name, [(seq, body)])

    def append_many(self, name: str, entries: list[tuple[int, str]]) -> None:
        """Write and commit ``(seq, body)`` entries in one transaction (one sync for all).

        Raises:
            JournalUnavailable: none of them committed (as for `append`).
        """
        insert = "INSERT INTO eap_state_entries (store, seq, body, checksum) VALUES (?, ?, ?, ?)"
        rows = [(name, seq, body, checksum(body)) for seq, body in entries]
        self._write([(insert, rows)])

    def entries_after(self, name: str, seq: int) -> list[tuple[int, str, str]]:
        """Return the entry rows ``(seq, body, checksum)`` after ``seq``, in order."""
        rows = self._run(
            "SELECT seq, body, checksum FROM eap_state_entries WHERE store = ? AND seq > ? "
            "ORDER BY seq",
            (name, seq),
            True,
        )
        return [tuple(row) for row in rows]

    def drop_after(self, name: str, seq: int) -> None:
        """Delete entries after ``seq`` (a torn tail that was never acknowledged)."""
        self._run("DELETE FROM eap_state_entries WHERE store = ? AND seq > ?", (name, seq))

    def write_snapshot(self, name: str, seq: int, body: str, parts: Iterable[JobPart] = ()) -> None:
        """Write a snapshot taken after entry ``seq``, in one transaction; keep the newest few.

        Args:
            name: The store.
            seq: The last entry the snapshot holds.
            body: Its text (`core.ledger.snapshot`).
            parts: Every job part it refers to: those numbered ``seq`` are written
                now, the others were written with an earlier snapshot and are kept.
                Parts no kept snapshot refers to any more are deleted.
        """
        referred = list(parts)
        new = [(name, p.job_id, seq, seq, p.text, p.checksum) for p in referred if p.seq == seq]
        kept = [(seq, name, p.job_id, p.seq) for p in referred if p.seq != seq]
        self._write(
            [
                (_INSERT_PART, new),
                (_KEEP_PART, kept),
                (_INSERT_SNAPSHOT, [(name, seq, body, checksum(body))]),
                (_DROP_OLD_SNAPSHOTS, [(name, name)]),
                (_DROP_UNNEEDED_PARTS, [(name, name)]),
            ],
        )

    def snapshot_part(self, name: str, job_id: str, seq: int) -> tuple[str, str] | None:
        """Return a job part's ``(text, checksum)``, or None when the journal lacks it."""
        rows = self._run(
            "SELECT body, checksum FROM eap_state_snapshot_parts "
            "WHERE store = ? AND job_id = ? AND seq = ?",
            (name, job_id, seq),
            True,
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def snapshots(self, name: str) -> Iterator[tuple[int, str, str]]:
        """Yield snapshot rows newest first, one query each (read only until one decodes)."""
        seqs = self._run(
            "SELECT seq FROM eap_state_snapshots WHERE store = ? ORDER BY seq DESC", (name,), True
        )
        for (seq,) in seqs:
            rows = self._run(
                "SELECT seq, body, checksum FROM eap_state_snapshots WHERE store = ? AND seq = ?",
                (name, seq),
                True,
            )
            if rows:
                yield tuple(rows[0])

    def recover(self, name: str) -> Recovered:
        """Rebuild the store ``name`` (`core.ledger.recover_state`), removing a torn tail.

        Raises:
            JournalFormatError: no such store, corruption before the last entry, a newer format.
            JournalUnavailable: the database cannot be reached.
        """
        recovered = recover_state(
            self.snapshots(name),
            lambda seq: self.entries_after(name, seq),
            read_part=lambda job_id, seq: self.snapshot_part(name, job_id, seq),
        )
        if recovered.dropped_tail:
            self.drop_after(name, recovered.state.applied)
        return recovered

    def delete_store(self, name: str) -> None:
        """Remove every row of the store ``name`` (for tests and tools; a ledger keeps its rows)."""
        self._run("DELETE FROM eap_state_entries WHERE store = ?", (name,))
        self._run("DELETE FROM eap_state_snapshots WHERE store = ?", (name,))
        self._run("DELETE FROM eap_state_snapshot_parts WHERE store = ?", (name,))
