"""What every journal backend does, written once over a small set of SQL statements.

A journal is two tables in one database, keyed by the store's name, so one
database holds many stores: ``eap_state_entries`` (one row per applied
command, ``seq`` 1, 2, 3, ...) and ``eap_state_snapshots`` (the whole state
after entry ``seq``). A backend supplies a connection and its placeholder
style; appending, reading and recovering are the same SQL for both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from core.ledger import Recovered, checksum, recover_state
from shell.errors import JournalUnavailable

__all__ = ["SNAPSHOTS_KEPT", "Journal"]

#: How many snapshots a store keeps (older ones are deleted; the entries never are).
SNAPSHOTS_KEPT = 3

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS eap_state_entries (store TEXT NOT NULL, seq BIGINT NOT NULL, "
    "body TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (store, seq))",
    "CREATE TABLE IF NOT EXISTS eap_state_snapshots (store TEXT NOT NULL, seq BIGINT NOT NULL, "
    "body TEXT NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (store, seq))",
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
    def _insert_many(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` with ``statement`` in one transaction, committed on return."""

    def _run(
        self,
        statement: str,
        params: tuple[Any, ...] = (),
        fetch: bool = False,
        many: list[tuple[Any, ...]] | None = None,
    ) -> Any:
        """Run one statement (its own transaction; with ``many``, once per row in one).

        A dropped connection is closed; the next call opens a new one.
        """
        try:
            if self._connection is None:
                self._connection = self._connect()
                for create in _SCHEMA:
                    self._create_table(create)
            if many is not None:
                self._insert_many(self._sql(statement), many)
                return None
            cursor = self._connection.execute(self._sql(statement), params)
            return cursor.fetchall() if fetch else None
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
        self._run(
            "INSERT INTO eap_state_entries (store, seq, body, checksum) VALUES (?, ?, ?, ?)",
            many=[(name, seq, body, checksum(body)) for seq, body in entries],
        )

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

    def write_snapshot(self, name: str, seq: int, body: str) -> None:
        """Write a snapshot taken after entry ``seq`` and keep only the newest few."""
        self._run(
            "INSERT INTO eap_state_snapshots (store, seq, body, checksum) VALUES (?, ?, ?, ?)",
            (name, seq, body, checksum(body)),
        )
        self._run(
            "DELETE FROM eap_state_snapshots WHERE store = ? AND seq NOT IN (SELECT seq FROM "
            f"eap_state_snapshots WHERE store = ? ORDER BY seq DESC LIMIT {SNAPSHOTS_KEPT})",
            (name, name),
        )

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
        recovered = recover_state(self.snapshots(name), lambda seq: self.entries_after(name, seq))
        if recovered.dropped_tail:
            self.drop_after(name, recovered.state.applied)
        return recovered

    def delete_store(self, name: str) -> None:
        """Remove every row of the store ``name`` (for tests and tools; a ledger keeps its rows)."""
        self._run("DELETE FROM eap_state_entries WHERE store = ?", (name,))
        self._run("DELETE FROM eap_state_snapshots WHERE store = ?", (name,))
