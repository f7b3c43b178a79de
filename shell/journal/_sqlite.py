"""The embedded journal: one SQLite file in WAL mode, ``synchronous=FULL`` unless told otherwise.

FULL syncs the write-ahead log on every commit, so an acknowledged command
survives a power loss; NORMAL syncs it only at checkpoints, so it survives
a crash of the process (or of Ray) but the last commits may be lost with
the machine's power. SQLite's WAL needs shared memory between the processes
that open the file, which network filesystems do not give: such a path is
refused.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from shell.errors import InvalidArgumentError
from shell.journal._base import Journal

__all__ = ["NETWORK_FILESYSTEMS", "SqliteJournal", "check_local", "filesystem_type"]

#: Filesystem types on which SQLite's WAL is unsafe (no shared memory, unreliable locks).
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "afs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "virtiofs",
    }
)
_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
# Seconds a writer waits for a lock another connection holds before failing.
_BUSY_TIMEOUT = 30.0


def filesystem_type(path: str, mounts: str) -> str | None:
    """Return the type of the filesystem holding ``path``, from ``/proc/mounts`` text."""
    best, best_type = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def check_local(path: str, mounts_file: str = "/proc/mounts") -> None:
    """Refuse a path on a network filesystem (as ``mounts_file`` lists the mounts).

    Raises:
        InvalidArgumentError: naming the path and the filesystem type.
    """
    try:
        mounts = Path(mounts_file).read_text()
    except OSError:
        return  # not Linux: nothing to check against; docs/reliability.md warns
    kind = filesystem_type(os.path.realpath(os.path.dirname(path)), mounts)
    if kind in NETWORK_FILESYSTEMS:
        raise InvalidArgumentError(
            f"journal path {path!r} is on a {kind} network filesystem, where SQLite's WAL "
            "is unsafe: use a local disk, or a postgresql:// journal",
            field="journal",
            value=path,
        )


class SqliteJournal(Journal):
    """A journal in the SQLite file ``path``.

    Args:
        url: The URL it was opened with, for messages.
        path: Absolute path of the database file (created when missing).
        synchronous: ``"full"`` (default: survives a power loss) or ``"normal"``.
    """

    placeholder = "?"

    def __init__(self, url: str, path: str, synchronous: str = "full") -> None:
        super().__init__(url)
        if synchronous not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"synchronous must be 'full' or 'normal', got {synchronous!r}",
                field="synchronous",
                value=synchronous,
            )
        check_local(path)
        self.path = path
        self.synchronous = synchronous

    def _connect(self) -> Any:
        connection = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={_SYNCHRONOUS[self.synchronous]}")
        return connection

    def _is_database_error(self, err: BaseException) -> bool:
        return isinstance(err, sqlite3.Error)

    def _transaction(self, steps: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement, rows in steps:
                connection.executemany(statement, rows)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
