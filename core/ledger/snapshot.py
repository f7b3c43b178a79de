"""The journal's snapshot format: a whole `LedgerState` after a given entry, as JSON text.

A snapshot carries the format version ``"v"`` (text written by a newer one is
refused) and is stored with its checksum (`core.ledger.encoding.checksum`).
Since format 3 an open job may be kept apart from the snapshot, as a *job
part*: the job's own text, written once with the snapshot that first held it
and referred to (by job id, that snapshot's sequence number and the part's
checksum) by every later snapshot while the job stays unchanged. A store with
many open jobs then writes, at each snapshot, only the jobs that changed
since the one before; the rest of the state (versions, closed jobs' final
summaries, the budget, the remembered command ids) is written whole every
time. `encode_snapshot` writes a self-contained snapshot (every job inline);
`encode_snapshot_since` writes the store's, with parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from core.errors import JournalFormatError, StateError
from core.jobs.job import JobExecution, add_tasks, new_job
from core.ledger._lazy import LazyMap
from core.ledger._values import (
    decode_value,
    dumps,
    encode_columns,
    encode_value,
    is_tag_shaped,
    loads,
)
from core.ledger._window import ReplyWindow
from core.ledger.encoding import _checked, _task, checksum
from core.ledger.state import LedgerState, Remembered

__all__ = [
    "SNAPSHOT_FORMAT_VERSION",
    "EncodedSnapshot",
    "JobPart",
    "PartReader",
    "decode_snapshot",
    "encode_snapshot",
    "encode_snapshot_since",
]

#: Version of the snapshot format. 3 (since 0.6.0): open jobs may be job parts,
#: stored apart and shared by the snapshots that hold them unchanged. 2 (since
#: 0.5.0, still read): the remembered command ids are one window, oldest first;
#: a version 1 snapshot (two generations of ids, in no order) is skipped, and
#: recovery starts from an older snapshot or the first entry.
SNAPSHOT_FORMAT_VERSION = 3


class JobPart(NamedTuple):
    """An open job's snapshot text, stored apart from the snapshots that refer to it.

    Attributes:
        job_id: The job.
        seq: The sequence number of the snapshot that first held it.
        text: The job as JSON text (as it would sit inline in a snapshot).
        checksum: `core.ledger.encoding.checksum` of ``text``.
    """

    job_id: str
    seq: int
    text: str
    checksum: str


#: Reads a job part back: ``(job_id, seq) -> (text, checksum)``, or None when the journal lacks it.
PartReader = Callable[[str, int], "tuple[str, str] | None"]


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
    # As encode_value of the whole 5-tuple, tasks as rows: each field one level down.
    tasks = encode_columns(job.tasks.columns, "value", 1)
    return [*(encode_value(value, "value", 1) for value in head), tasks]


def _decode_job(data: Any) -> JobExecution:
    job_id, description, created_at, completed_at, rows = decode_value(data)
    job = add_tasks(new_job(job_id, description, created_at), [_task(row) for row in rows])
    return job._replace(completed_at=completed_at)


class EncodedSnapshot(NamedTuple):
    """A store's snapshot: its text and the job parts it refers to.

    Attributes:
        text: The snapshot; every open job is a reference to a part.
        seq: The snapshot's sequence number (the state's ``applied``).
        jobs: Job id -> (the job, its part): a job still the very same object
            at the next snapshot keeps its part, neither encoded nor written again.
    """

    text: str
    seq: int
    jobs: Mapping[str, tuple[JobExecution, JobPart]]

    @property
    def parts(self) -> list[JobPart]:
        """Every part the snapshot refers to, in its order. O(open jobs)."""
        return [part for _, part in self.jobs.values()]

    @property
    def new_parts(self) -> list[JobPart]:
        """The parts first held by this snapshot (numbered ``seq``), to be written with it."""
        return [part for part in self.parts if part.seq == self.seq]


def encode_snapshot(state: LedgerState) -> str:
    """Return ``state`` as self-contained snapshot text (every job inline). O(state size)."""
    jobs = [_job_text(job) for job in state.jobs.values()]
    return _snapshot_text(state, jobs, [])


def encode_snapshot_since(state: LedgerState, previous: EncodedSnapshot | None) -> EncodedSnapshot:
    """Return the snapshot of ``state`` with its jobs as parts, reusing those of ``previous``.

    O(tasks of the jobs changed since ``previous``) for the jobs, plus the rest
    of the state. Jobs are immutable, so an unchanged job is the very object
    ``previous`` encoded: it keeps its part. A changed or new job gets a new
    part, numbered with this snapshot's sequence number (``state.applied``).
    Each job is encoded on its own, so a thread switch can come between two.
    """
    earlier = {} if previous is None else previous.jobs
    jobs: dict[str, tuple[JobExecution, JobPart]] = {}
    for job_id, job in state.jobs.items():
        known = earlier.get(job_id)
        if known is None or known[0] is not job:
            text = _job_text(job)
            known = (job, JobPart(job_id, state.applied, text, checksum(text)))
        jobs[job_id] = known
    refs = [[part.job_id, part.seq, part.checksum] for _, part in jobs.values()]
    return EncodedSnapshot(_snapshot_text(state, [], refs), state.applied, jobs)


def _snapshot_text(state: LedgerState, inline: list[str], refs: list[list[Any]]) -> str:
    """The snapshot's JSON: ``inline`` jobs' texts as they are, ``refs`` to the others' parts."""
    head = dumps(
        {"v": SNAPSHOT_FORMAT_VERSION, "applied": state.applied, "remember": state.remember}
    )
    rest = dumps(
        {
            "job_parts": refs,
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
    return f'{head[:-1]},"jobs":[{",".join(inline)}],{rest[1:]}'


def _job_text(job: JobExecution) -> str:
    return dumps(_encode_job(job))


def decode_snapshot(text: Any, check: Any, read_part: PartReader | None = None) -> LedgerState:
    """Return the state a snapshot holds, reading the job parts it refers to with ``read_part``.

    Raises:
        JournalFormatError: a bad checksum (of the snapshot or of a part), a
            newer format, a part the journal lacks (or no ``read_part`` for a
            snapshot with parts), or a malformed snapshot.
    """
    data = _checked(text, check, "snapshot", SNAPSHOT_FORMAT_VERSION)
    if data["v"] < 2:
        raise JournalFormatError(
            f"snapshot was written in format {data['v']}, which this library does not read "
            "back (its command ids were kept in no order): recovery starts further back",
            field="v",
            value=data["v"],
        )
    # Parts are read before decoding: a journal that fails to answer is its own error.
    parts = [
        (job_id, _part_text(read_part, job_id, seq, part_check))
        for job_id, seq, part_check in _part_refs(data)
    ]
    try:
        jobs = {job.job_id: job for job in map(_decode_job, data["jobs"])}
        for job_id, part in parts:
            job = _decode_job(loads(part))
            if job.job_id != job_id or job_id in jobs:
                raise JournalFormatError(
                    f"snapshot part for job {job_id!r} holds job {job.job_id!r}, or a job twice",
                    field="job_parts",
                    value=job_id,
                )
            jobs[job_id] = job
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
    except JournalFormatError:
        raise
    except (StateError, KeyError, TypeError, ValueError) as err:
        raise JournalFormatError(f"malformed snapshot: {err!r}", field="snapshot") from err


def _part_refs(data: dict[str, Any]) -> list[tuple[str, int, str]]:
    """The snapshot's references to job parts (none before format 3), their shape checked."""
    refs = data.get("job_parts", [])
    if type(refs) is not list or not all(
        type(ref) is list
        and len(ref) == 3
        and type(ref[0]) is str
        and type(ref[1]) is int
        and type(ref[2]) is str
        for ref in refs
    ):
        raise JournalFormatError("malformed snapshot: bad job parts", field="snapshot")
    return [(job_id, seq, check) for job_id, seq, check in refs]


def _part_text(read_part: PartReader | None, job_id: Any, seq: Any, check: Any) -> str:
    """The text of a job part, checked against the checksum the snapshot gives for it."""
    found = None if read_part is None else read_part(job_id, seq)
    if found is None:
        raise JournalFormatError(
            f"snapshot refers to the part of job {job_id!r} written at {seq!r}, "
            "which the journal does not hold",
            field="job_parts",
            value=job_id,
        )
    text, stored = found
    if not isinstance(text, str) or stored != check or checksum(text) != check:
        raise JournalFormatError(
            f"the part of job {job_id!r} written at {seq!r} fails its checksum",
            field="job_parts",
            value=job_id,
        )
    return text
