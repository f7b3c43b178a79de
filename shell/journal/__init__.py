"""Where a durable `shell.StateStore` writes its commands: SQLite or PostgreSQL.

``open_journal("sqlite:///abs/path.db")`` (add ``?synchronous=normal`` to trade
power-loss safety for speed) or ``open_journal("postgresql://user@host/db")``.
The entry and snapshot format is `core.ledger.encoding`'s; every backend runs
the same SQL (`shell.journal._base.Journal`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from core.errors import describe
from shell.errors import InvalidArgumentError
from shell.journal._base import SNAPSHOTS_KEPT, Journal
from shell.journal._postgres import PostgresJournal
from shell.journal._sqlite import SqliteJournal

__all__ = ["SNAPSHOTS_KEPT", "Journal", "PostgresJournal", "SqliteJournal", "open_journal"]


def _bad(url: Any, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        "journal must be 'sqlite:///absolute/path.db' or 'postgresql://...', "
        f"{why}: {describe(url)}",
        field="journal",
        value=url,
    )


def open_journal(url: Any) -> Journal:
    """Return the journal at ``url``, checked but not yet connected.

    Raises:
        InvalidArgumentError: not a journal URL, a relative or network-filesystem
            SQLite path, an unknown option, or psycopg missing for PostgreSQL.
    """
    if not isinstance(url, str) or not url.isprintable():
        raise _bad(url, "got something else")
    parsed = urlparse(url)
    if parsed.scheme in ("postgresql", "postgres"):
        return PostgresJournal(url)
    if parsed.scheme != "sqlite":
        raise _bad(url, f"unknown scheme {parsed.scheme!r}")
    if parsed.netloc or not parsed.path.startswith("/") or parsed.path.endswith("/"):
        raise _bad(url, "the path must be absolute (the store runs in another process)")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    synchronous = options.pop("synchronous", "full").lower()
    if options:
        raise _bad(url, f"unknown option {sorted(options)[0]!r}")
    return SqliteJournal(url, "/" + parsed.path.lstrip("/"), synchronous)
