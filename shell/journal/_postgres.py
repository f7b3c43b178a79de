"""The shared journal: a PostgreSQL database, reachable from every node of a cluster.

Needs the ``postgres`` extra (psycopg 3). Each append is its own committed
transaction (``synchronous_commit`` as the server is configured: on by
default, so a commit is durable when acknowledged). A restarted store may
land on another node and read its journal from there.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shell.errors import InvalidArgumentError
from shell.journal._base import Journal

__all__ = ["PostgresJournal"]

# Seconds to wait for the server before calling the journal unavailable.
_CONNECT_TIMEOUT = 5


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as err:
        raise InvalidArgumentError(
            "a postgresql:// journal needs psycopg 3: pip install 'eap-state[postgres]'",
            field="journal",
            value="postgresql",
        ) from err
    return psycopg


class PostgresJournal(Journal):
    """A journal in the PostgreSQL database at ``url`` (a libpq connection URL)."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._driver = _psycopg()

    def _connect(self) -> Any:
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self.url:
            kwargs["connect_timeout"] = _CONNECT_TIMEOUT
        return self._driver.connect(self.url, **kwargs)

    def _create_table(self, statement: str) -> None:
        # Two stores creating the tables at once can collide inside the catalog.
        with contextlib.suppress(self._driver.errors.UniqueViolation):
            self._connection.execute(statement)

    def _is_database_error(self, err: BaseException) -> bool:
        return isinstance(err, self._driver.Error)

    def _transaction(self, steps: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            for statement, rows in steps:
                cursor.executemany(statement, rows)
