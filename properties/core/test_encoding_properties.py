"""The journal's column-wise row encoding writes exactly what value-by-value encoding writes."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core.frozen import freeze
from core.jobs.job import JobExecution
from core.jobs.status import TaskStatus
from core.jobs.update_batch import batch_columns, parse_updates
from core.ledger._values import dumps, encode_rows, encode_value
from core.ledger.commands import make_command, update_tasks_command
from core.ledger.snapshot import _encode_job
from properties.strategies import jobs, json_values, timestamps, valid_updates

STATUS_VALUES = [status.value for status in TaskStatus]


class _Level(enum.IntEnum):
    LOW = 1


class _Word(str, enum.Enum):
    HI = "hi"


# What a row may hold besides plain JSON: what encode_value tags or converts.
_cells = (
    json_values
    | st.floats()  # NaN and infinities are tagged
    | st.decimals(allow_nan=False, places=2)
    | st.binary(max_size=4)
    | st.frozensets(st.integers(0, 3), max_size=3)
    | st.just(_Level.LOW)
    | st.just(_Word.HI)
    | json_values.map(freeze)
)


@given(st.integers(0, 4).flatmap(lambda width: st.lists(st.tuples(*[_cells] * width), max_size=6)))
def test_rows_encode_to_the_same_text_column_by_column(rows: list[tuple[Any, ...]]) -> None:
    """encode_rows gives the JSON text encode_value gives, whatever the cells hold."""
    table = tuple(rows)
    assert dumps(encode_rows(table, "value", 1)) == dumps(encode_value(table, "value", 1))


@given(jobs())
def test_a_jobs_snapshot_text_is_unchanged(job: JobExecution) -> None:
    """A job's snapshot form is the one the value-by-value encoding wrote (the format holds)."""
    rows = tuple(tuple(record) for record in job.tasks.records)
    whole = (job.job_id, job.description, job.created_at, job.completed_at, rows)
    assert dumps(_encode_job(job)) == dumps(encode_value(whole))


def test_rows_of_unequal_length_fall_back_to_the_value_encoding() -> None:
    """Ragged or empty rows are encoded value by value, as before."""
    rows = ((1, Decimal("0.10")), (2,))
    assert encode_rows(rows) == encode_value(rows) == [[1, {"$dec": "0.10"}], [2]]
    assert encode_rows(((), ())) == encode_value(((), ())) == [[], []]


@given(
    st.lists(
        st.tuples(st.sampled_from(["t1", "t2", "$t"]), st.sampled_from(list(STATUS_VALUES))),
        min_size=1,
        max_size=6,
    ).flatmap(lambda pairs: st.tuples(*(valid_updates(t, s) for t, s in pairs))),
    st.none() | timestamps,
)
def test_a_parsed_batch_command_has_the_generic_text(updates: tuple[Any, ...], at: Any) -> None:
    """A parse_updates batch's command has the digest and body encode_value gives its args."""
    batch = parse_updates(list(updates))
    fast = update_tasks_command("c", "j", batch, at)
    assert fast == make_command("c", "update_tasks", ("j", batch_columns(batch)), at)
