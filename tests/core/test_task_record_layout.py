"""The positional rebuilds of `TaskRecord` (next to its definition) match its fields.

`record_columns` and `records_from_columns` split and build records by position for
speed; these tests pin the field order they rely on, so adding or moving a
field fails here instead of misaligning records silently.
"""

from __future__ import annotations

from core.jobs.task import TaskRecord, new_task, record_columns, records_from_columns

PINNED_FIELDS = (
    "task_id",
    "agent_name",
    "input_data",
    "status",
    "result",
    "error",
    "started_at",
    "completed_at",
    "round",
)


def test_task_record_fields_are_the_ones_the_rebuilds_assume() -> None:
    """Adding, removing or moving a TaskRecord field breaks this test first."""
    assert TaskRecord._fields == PINNED_FIELDS


def test_record_columns_are_the_fields_in_order() -> None:
    """record_columns gives one column per field, each holding that field of every record."""
    records = [new_task(f"t{i}", "a", [i], round=i + 1) for i in range(3)]
    columns = record_columns(records)
    assert len(columns) == len(TaskRecord._fields)
    for name, column in zip(TaskRecord._fields, columns, strict=True):
        assert column == tuple(getattr(r, name) for r in records)
    assert record_columns([]) == tuple(() for _ in TaskRecord._fields)


def test_records_from_columns_is_the_inverse_of_zipping_records() -> None:
    """Records split into columns and rebuilt are equal, field by field."""
    records = [new_task(f"t{i}", "a", [i], round=i + 1) for i in range(3)]
    rebuilt = records_from_columns(record_columns(records))
    assert rebuilt == records and all(type(r) is TaskRecord for r in rebuilt)
    assert [r._asdict() for r in rebuilt] == [r._asdict() for r in records]
