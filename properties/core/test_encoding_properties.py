"""The journal's column-wise encodings write exactly what value-by-value encoding writes."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.frozen import freeze
from core.jobs.job import JobExecution
from core.jobs.status import TaskStatus
from core.jobs.update_batch import batch_columns, parse_updates
from core.ledger._values import dumps, encode_rows, encode_value, list_text, scalar_text
from core.ledger.commands import (
    FORMAT_VERSION,
    entry_body,
    make_command,
    update_tasks_command,
)
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


_list_items = st.lists(
    st.one_of(
        st.text(max_size=4),  # quotes, backslashes, controls, DEL and non-ASCII included
        st.sampled_from(['"', "\\", "\x7f", "\x00", "é", "a,b", '","']),
        st.just(TaskStatus.RUNNING),
        st.none(),
        st.integers(-3, 3),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    max_size=6,
)


@given(_list_items | _list_items.map(tuple) | st.integers(0, 5).map(lambda n: [None] * n))
def test_list_text_is_the_dumps_text(items: Any) -> None:
    """list_text writes exactly what dumps writes for any list of plain JSON values."""
    assert list_text(items) == dumps(list(items))


@given(st.lists(st.sampled_from(["x", "y", "\x01"]), min_size=1, max_size=6), st.integers(1, 4))
def test_list_text_of_a_repeated_str_is_the_dumps_text(pool: list[str], times: int) -> None:
    """A column of one value repeated, or of a few, still gets exactly dumps' text."""
    items = pool * times
    assert list_text(items) == dumps(items)
    assert list_text([pool[0]] * len(items)) == dumps([pool[0]] * len(items))


class _Liar(str):
    """A str that claims to equal every str and hashes like another: a cache must not trust it."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("x")


def test_a_repeated_column_is_written_from_its_own_characters() -> None:
    """A kept column text is keyed by the exact str, never by a subclass's __eq__ or __hash__."""
    assert list_text(["x"] * 3) == '["x","x","x"]'
    assert list_text([_Liar("y")] * 3) == '["y","y","y"]'
    assert list_text(["x"] * 3) == '["x","x","x"]'
    assert list_text(["z"] * 5000) == dumps(["z"] * 5000)  # longer than the kept columns


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()


@given(_scalars)
def test_scalar_text_is_the_dumps_text(value: Any) -> None:
    """scalar_text writes exactly what dumps writes for any JSON scalar."""
    try:
        expected = dumps(value)
    except ValueError:  # an infinity: refused both ways
        with pytest.raises(ValueError):
            scalar_text(value)
        return
    assert scalar_text(value) == expected


@given(st.text(min_size=1), st.text(min_size=1), st.none() | timestamps, st.text(min_size=1))
def test_an_entry_is_the_dumps_text_of_its_fields(
    command_id: str, kind: str, at: Any, digest: str
) -> None:
    """entry_body writes the text dumps writes for the entry's fields, in their order."""
    fields = {"v": FORMAT_VERSION, "id": command_id, "kind": kind, "at": at, "digest": digest}
    expected = dumps({**fields, "args": ["j", [1, "two", None]]})
    assert entry_body(command_id, kind, at, digest, '["j",[1,"two",null]]') == expected
