"""The journal's format: entries and snapshots as versioned JSON text with a checksum each.

An entry is one command (`core.ledger.commands.Command.body`); a snapshot is
a whole `LedgerState` after a given entry. Both carry the format version
``"v"``; text written by a newer version is refused, never guessed at.
Money is always an exact decimal string (see `core.ledger._values`). A
checksum (CRC-32 of the UTF-8 text, 8 hex digits) is stored beside each
text, so a torn write is detected before it is parsed.

Recovery is a fold: `recover_state` takes the newest readable snapshot (an
unreadable one is skipped for an older one, or for none), then applies the
entries after it with `core.ledger.state.apply_command`. A bad last entry
was never acknowledged (the store replies only after its commit) and is
dropped; a bad entry followed by good ones is corruption and is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any, NamedTuple

from pyrsistent import pmap, pvector

from core.budget.reducers import (
    AgentBudget,
    BudgetState,
    CostRecord,
    PricePolicy,
    Reservation,
    ReservationDecision,
)
from core.errors import JournalFormatError, StateError, describe
from core.jobs._columns import UpdateColumns, to_update_columns
from core.jobs.job import JobExecution, add_tasks, new_job
from core.jobs.status import TaskStatus
from core.jobs.task import TaskRecord
from core.ledger._lazy import LazyMap
from core.ledger._values import (
    decode_value,
    dumps,
    encode_rows,
    encode_value,
    is_tag_shaped,
    loads,
)
from core.ledger._window import ReplyWindow
from core.ledger.commands import FORMAT_VERSION, KINDS, Command, entry_body, fingerprint
from core.ledger.state import (
    DEFAULT_REMEMBER,
    LedgerState,
    Remembered,
    apply_command,
    open_ledger,
)

__all__ = [
    "SNAPSHOT_FORMAT_VERSION",
    "EncodedSnapshot",
    "Recovered",
    "checksum",
    "decode_entry",
    "decode_snapshot",
    "encode_snapshot",
    "encode_snapshot_since",
    "recover_state",
]


def checksum(text: str) -> str:
    """Return the CRC-32 of ``text`` as 8 hex digits."""
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


#: Version of the snapshot format. 2 (since 0.5.0): the remembered command ids are
#: one window, oldest first; a version 1 snapshot (two generations of ids, in no
#: order) is skipped, and recovery starts from an older snapshot or the first entry.
SNAPSHOT_FORMAT_VERSION = 2


def _checked(text: Any, check: Any, what: str, newest: int = FORMAT_VERSION) -> dict[str, Any]:
    """Parse a journal text after verifying its checksum and format version (at most ``newest``)."""
    if not isinstance(text, str) or checksum(text) != check:
        raise JournalFormatError(f"{what} fails its checksum (torn or corrupt)", field=what)
    data: dict[str, Any] = loads(text)
    version = data.get("v") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JournalFormatError(f"{what} has no format version", field="v", value=version)
    if version > newest:
        raise JournalFormatError(
            f"{what} was written by a newer format (version {version}; this library reads "
            f"up to {newest}): upgrade eap-state to read it",
            field="v",
            value=version,
        )
    return data


def _task(row: tuple[Any, ...]) -> TaskRecord:
    task_id, agent, data, status, result, error, started, done, round_no = row
    return TaskRecord(
        task_id, agent, data, TaskStatus(status), result, error, started, done, round_no
    )


def _args(kind: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Rebuild the typed arguments of a decoded command."""
    if kind == "add_tasks":
        return (args[0], tuple(_task(row) for row in args[1]))
    if kind == "update_tasks":
        return (args[0], to_update_columns(UpdateColumns(*args[1])))
    if kind == "record_costs":
        return (tuple(CostRecord(*row) for row in args[0]),)
    return args


def decode_entry(text: Any, check: Any) -> Command:
    """Return the command a journal entry holds.

    Raises:
        JournalFormatError: a bad checksum, a newer format or a malformed entry.
    """
    data = _checked(text, check, "entry")
    try:
        kind = data["kind"]
        if kind not in KINDS:
            raise JournalFormatError(f"unknown command kind {kind!r}", field="kind", value=kind)
        args_text = dumps(data["args"])
        digest = fingerprint(kind, args_text)
        if digest != data["digest"]:
            raise JournalFormatError("entry arguments do not match their digest", field="digest")
        command_id, at = data["id"], data["at"]
        args = _args(kind, decode_value(data["args"]))
    except JournalFormatError:
        raise
    except (StateError, KeyError, TypeError, ValueError) as err:
        raise JournalFormatError(f"malformed entry: {err!r}", field="entry") from err
    return Command(
        command_id, kind, args, at, digest, entry_body(command_id, kind, at, digest, args_text)
    )


_SCALAR_REPLIES = (int, str, type(None))


def _encode_reply(reply: Any) -> Any:
    """A plain reply (a version, a job id, None) as it is; others as a tagged list."""
    if type(reply) in _SCALAR_REPLIES:
        return reply
    if isinstance(reply, ReservationDecision):
        return ["decision", encode_value(tuple(reply))]
    return ["value", encode_value(reply)]


def _decode_reply(data: Any) -> Any:
    if type(data) is not list:
        return data
    tag, value = data
    decoded = decode_value(value)
    return ReservationDecision(*decoded) if tag == "decision" else decoded


def _read_lazily(decode: Callable[[Any], Any], raw: Any, what: str) -> Any:
    """``decode(raw)`` of an entry a snapshot held, a malformed one as `JournalFormatError`.

    Recovery checks the shape of what it keeps encoded at C speed; the inside
    of an entry (covered by the snapshot's checksum) is only read here.
    """
    try:
        return decode(raw)
    except StateError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as err:
        raise JournalFormatError(
            f"{what} in the snapshot is malformed: {err!r}", field="snapshot"
        ) from err


class _ReplyRows:
    """A snapshot's remembered replies as read: a `ReplyWindow` decodes one by its index."""

    __slots__ = ("digests", "replies")

    def __init__(self, digests: list[str], replies: list[Any]) -> None:
        self.digests = digests
        self.replies = replies

    def __call__(self, index: Any) -> Remembered:
        """The remembered reply at ``index``. O(size of that reply)."""
        reply = _read_lazily(_decode_reply, self.replies[index], "a remembered reply")
        return Remembered(self.digests[index], reply)


# A reply is encoded as one of these (`_encode_reply`): checked at C speed on reading.
_REPLY_TYPES = frozenset({int, str, type(None), list})


def _only(items: list[Any], kinds: frozenset[type] | set[type], what: str) -> None:
    """Refuse a list holding other than ``kinds``; one C-level pass over the distinct types."""
    if type(items) is not list or not set(map(type, items)) <= kinds:
        raise JournalFormatError(f"malformed snapshot: bad {what}", field="snapshot")


def _encode_replies(replies: ReplyWindow[Remembered]) -> list[list[Any]]:
    """The remembered replies as three parallel lists (ids, digests, replies), oldest first.

    Rows read from the last snapshot and still remembered are written as they
    were read, not encoded again: O(n) at C speed plus O(replies applied since).
    """
    ids = list(islice(replies.base, replies.live_base_rows, None))
    digests: list[str] = []
    encoded: list[Any] = []
    rows = replies.rows
    if ids:
        assert isinstance(rows, _ReplyRows)  # a base is only ever read from a snapshot
        digests = rows.digests[replies.live_base_rows :]
        encoded = rows.replies[replies.live_base_rows :]
    for command_id, remembered in replies.recent():
        ids.append(command_id)
        digests.append(remembered.digest)
        encoded.append(_encode_reply(remembered.reply))
    return [ids, digests, encoded]


def _decode_replies(data: Any, remember: Any) -> ReplyWindow[Remembered]:
    """Index the remembered replies by command id at C speed; each decodes when recalled. O(n)."""
    ids, digests, replies = data
    _only(ids, {str}, "remembered command ids")
    _only(digests, {str}, "remembered digests")
    _only(replies, _REPLY_TYPES, "remembered replies")
    index = dict(zip(ids, range(len(ids)), strict=True))
    if not len(index) == len(digests) == len(replies) == len(ids):
        raise JournalFormatError("malformed snapshot: uneven remembered replies", field="snapshot")
    # A `remember` that is not a positive int is refused by the window itself.
    if not 1 <= len(ids) <= remember:
        raise JournalFormatError(
            f"malformed snapshot: {len(ids)} remembered ids for a window of {remember!r}",
            field="snapshot",
        )
    return ReplyWindow(remember, index, _ReplyRows(digests, replies))


def _encode_summary(summary: Any) -> Any:
    """A closed job's frozen summary as `encode_value` writes it inside the map of them."""
    return encode_value(summary, "value", 1)


def _decode_summary(raw: Any) -> Any:
    """A closed job's summary as the snapshot held it, decoded when it is read."""
    return _read_lazily(decode_value, raw, "a closed job's summary")


def _encode_closed(closed: LazyMap[Any]) -> Any:
    """Closed summaries as `encode_value` of their dict: those read from a snapshot as read."""
    if closed.base and closed.decoder is not _decode_summary:
        return encode_value(dict(closed))
    encoded = closed.encoded(_encode_summary)
    if is_tag_shaped(encoded):
        # encode_value escapes a lone "$" key (a job id may be "$dec"): the same here.
        return {"$map": [[key, value] for key, value in encoded.items()]}
    return encoded


def _decode_closed(data: Any) -> LazyMap[Any]:
    """Closed summaries kept encoded (each decodes when read); O(1) beyond the parse."""
    if type(data) is not dict:
        raise JournalFormatError("malformed snapshot: bad closed jobs", field="snapshot")
    if is_tag_shaped(data):
        # A lone job id starting with "$" is escaped by encode_value: decoded at once.
        decoded = decode_value(data)
        if not isinstance(decoded, Mapping):
            raise JournalFormatError("malformed snapshot: bad closed jobs", field="snapshot")
        return LazyMap(added=pmap(decoded))
    return LazyMap(data, _decode_summary)


def _decode_versions(data: Any) -> LazyMap[int]:
    """Job versions as read; O(jobs) at C speed."""
    if type(data) is not dict or not set(map(type, data.values())) <= {int}:
        raise JournalFormatError("malformed snapshot: bad versions", field="snapshot")
    return LazyMap(data)


def _encode_budget(budget: BudgetState) -> Any:
    return encode_value(
        (
            budget.total_budget,
            budget.total_spent,
            budget.total_reserved,
            tuple(budget.agents.values()),
            tuple(budget.cost_records),
            {rid: (r.agent_name, tuple(r.decision)) for rid, r in budget.reservations.items()},
            tuple(budget.policy),
        )
    )


def _decode_budget(data: Any) -> BudgetState:
    total, spent, reserved, agents, records, reservations, policy = decode_value(data)
    cost_records = [CostRecord(*row) for row in records]
    return BudgetState(
        total_budget=total,
        total_spent=spent,
        total_reserved=reserved,
        agents=pmap({row[0]: AgentBudget(*row) for row in agents}),
        cost_records=pvector(cost_records),
        records_by_job=pmap({record.job_id: record for record in cost_records}),
        reservations=pmap(
            {
                rid: Reservation(agent, ReservationDecision(*decision))
                for rid, (agent, decision) in reservations.items()
            }
        ),
        policy=PricePolicy(*policy),
    )


def _encode_job(job: JobExecution) -> Any:
    head = (job.job_id, job.description, job.created_at, job.completed_at)
    rows = tuple(job.tasks.records)  # records are tuples: JSON writes them as arrays
    # As encode_value of the whole 5-tuple: each field one level down.
    return [*(encode_value(value, "value", 1) for value in head), encode_rows(rows, "value", 1)]


def _decode_job(data: Any) -> JobExecution:
    job_id, description, created_at, completed_at, rows = decode_value(data)
    job = add_tasks(new_job(job_id, description, created_at), [_task(row) for row in rows])
    return job._replace(completed_at=completed_at)


class EncodedSnapshot(NamedTuple):
    """A snapshot's text, with each open job's part of it for the next snapshot to reuse.

    Attributes:
        text: The snapshot (`encode_snapshot` of the state).
        jobs: Job id -> (the job, its encoded text): a job still the very same
            object at the next snapshot is not encoded again.
    """

    text: str
    jobs: Mapping[str, tuple[JobExecution, str]]


def encode_snapshot(state: LedgerState) -> str:
    """Return ``state`` as snapshot text (its checksum is `checksum` of it). O(state size)."""
    return encode_snapshot_since(state, None).text


def encode_snapshot_since(state: LedgerState, previous: EncodedSnapshot | None) -> EncodedSnapshot:
    """Return `encode_snapshot` of ``state``, reusing the text of jobs unchanged since ``previous``.

    O(tasks of the jobs changed since ``previous``) for the jobs, plus the rest
    of the state. Jobs are immutable, so an unchanged job is the very object
    ``previous`` encoded; a store that snapshots every few thousand commands
    changes few of its open jobs in between, and a snapshot then costs in
    proportion to those (each job is encoded on its own, so a thread switch
    can come between two jobs instead of after the whole state).
    """
    earlier = {} if previous is None else previous.jobs
    jobs: dict[str, tuple[JobExecution, str]] = {}
    for job_id, job in state.jobs.items():
        known = earlier.get(job_id)
        jobs[job_id] = known if known is not None and known[0] is job else (job, _job_text(job))
    head = dumps(
        {"v": SNAPSHOT_FORMAT_VERSION, "applied": state.applied, "remember": state.remember}
    )
    rest = dumps(
        {
            "versions": state.versions.encoded(int),
            "closed": _encode_closed(state.closed),
            "budget": _encode_budget(state.budget),
            "budget_version": state.budget_version,
            "released": encode_value(dict(state.released)),
            "replies": _encode_replies(state.replies),
        }
    )
    # The same text as dumps of one object with "jobs" fourth: compact JSON of an
    # object is its members' texts joined by commas.
    parts = ",".join(text for _, text in jobs.values())
    return EncodedSnapshot(f'{head[:-1]},"jobs":[{parts}],{rest[1:]}', jobs)


def _job_text(job: JobExecution) -> str:
    return dumps(_encode_job(job))


def decode_snapshot(text: Any, check: Any) -> LedgerState:
    """Return the state a snapshot holds.

    Raises:
        JournalFormatError: a bad checksum, a newer format or a malformed snapshot.
    """
    data = _checked(text, check, "snapshot", SNAPSHOT_FORMAT_VERSION)
    if data["v"] < SNAPSHOT_FORMAT_VERSION:
        raise JournalFormatError(
            f"snapshot was written in format {data['v']}, which this library does not read "
            "back (its command ids were kept in no order): recovery starts further back",
            field="v",
            value=data["v"],
        )
    try:
        jobs = {job.job_id: job for job in map(_decode_job, data["jobs"])}
        return LedgerState(
            jobs=pmap(jobs),
            versions=_decode_versions(data["versions"]),
            closed=_decode_closed(data["closed"]),
            budget=_decode_budget(data["budget"]),
            budget_version=data["budget_version"],
            released=pmap(decode_value(data["released"])),
            replies=_decode_replies(data["replies"], data["remember"]),
            applied=data["applied"],
        )
    except (StateError, KeyError, TypeError, ValueError) as err:
        raise JournalFormatError(f"malformed snapshot: {err!r}", field="snapshot") from err


def _is_newer(err: JournalFormatError, newest: int = FORMAT_VERSION) -> bool:
    """True for the error of a text written by a newer format: never skipped or dropped."""
    return err.field == "v" and isinstance(err.value, int) and err.value > newest


class Recovered(NamedTuple):
    """What `recover_state` rebuilt.

    Attributes:
        state: The store's state after the last good entry.
        snapshot_seq: The sequence number of the snapshot it started from (0: none).
        replayed: How many entries it applied after the snapshot.
        dropped_tail: Whether a torn last entry was dropped.
        bad_snapshots: How many newer snapshots were unreadable and skipped.
    """

    state: LedgerState
    snapshot_seq: int
    replayed: int
    dropped_tail: bool
    bad_snapshots: int


Rows = Iterable[tuple[int, str, str]]


def recover_state(
    snapshots: Rows, entries_after: Callable[[int], Rows], remember: int = DEFAULT_REMEMBER
) -> Recovered:
    """Rebuild a store from its newest readable snapshot and the entries after it.

    Args:
        snapshots: ``(seq, text, checksum)`` rows, newest first; read lazily,
            only until one decodes.
        entries_after: Returns the ``(seq, text, checksum)`` entry rows after a
            sequence number, in order.
        remember: The window of command ids of a store rebuilt from its first
            entry (`open_ledger`); a snapshot carries its own.

    Raises:
        JournalFormatError: no store (no snapshot and no first entry), a gap in
            the sequence, a corrupt entry before the last, or a newer format.
    """
    try:
        return _recover(snapshots, entries_after, remember)
    except StateError:
        raise
    except Exception as err:
        # Rows come from a database or a caller: a malformed row or a failing
        # reader means the journal cannot be read, never a stray TypeError.
        raise JournalFormatError(
            f"the journal's rows could not be read: {describe(err)}", field="journal", value=None
        ) from err


def _recover(snapshots: Rows, entries_after: Callable[[int], Rows], remember: int) -> Recovered:
    state: LedgerState | None = None
    snapshot_seq = bad = 0
    for seq, text, check in snapshots:
        try:
            state = decode_snapshot(text, check)
        except JournalFormatError as err:
            if _is_newer(err, SNAPSHOT_FORMAT_VERSION):
                raise
            bad += 1
            continue
        snapshot_seq = seq
        break
    expected = snapshot_seq + 1
    pending: JournalFormatError | None = None
    replayed = 0
    for seq, text, check in entries_after(snapshot_seq):
        if pending is not None:
            raise JournalFormatError(
                f"journal entry {expected - 1} is corrupt and is not the last: {pending}",
                field="seq",
                value=expected - 1,
            ) from pending
        if seq != expected:
            raise JournalFormatError(
                f"journal entry {expected} is missing (next is {seq})", field="seq", value=seq
            )
        expected += 1
        try:
            command = decode_entry(text, check)
        except JournalFormatError as err:
            if _is_newer(err):
                raise
            pending = err
            continue
        if state is None:
            state = open_ledger(command, remember)
        else:
            state = apply_command(state, command)[0]
        replayed += 1
    if state is None:
        raise JournalFormatError("the journal holds no store", field="journal", value=None)
    return Recovered(state, snapshot_seq, replayed, pending is not None, bad)
