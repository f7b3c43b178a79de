"""The positional rebuilds of `TaskRecord` (next to its definition) match its fields.

`moved_record` and `records_from_columns` build records by position for
speed; these tests pin the field order they rely on, so adding or moving a
field fails here instead of misaligning records silently.
"""

from __future__ import annotations

from core.jobs.status import TaskStatus
from core.jobs.task import TaskRecord, moved_record, new_task, records_from_columns

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


def test_moved_record_equals_replace_of_the_moved_fields() -> None:
    """moved_record changes exactly status, result, error and both timestamps."""
    task = new_task("t", "agent", {"q": 1}, round=3)
    moved = moved_record(task, TaskStatus.COMPLETED, "r", "e", 1.0, 2.0)
    expected = task._replace(
        status=TaskStatus.COMPLETED, result="r", error="e", started_at=1.0, completed_at=2.0
    )
    assert moved == expected and type(moved) is TaskRecord
    assert moved._asdict() == expected._asdict()


def test_records_from_columns_is_the_inverse_of_zipping_records() -> None:
    """Records split into columns and rebuilt are equal, field by field."""
    records = [new_task(f"t{i}", "a", [i], round=i + 1) for i in range(3)]
    rebuilt = records_from_columns(list(zip(*records, strict=True)))
    assert rebuilt == records and all(type(r) is TaskRecord for r in rebuilt)
    assert [r._asdict() for r in rebuilt] == [r._asdict() for r in records]
