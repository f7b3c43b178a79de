"""`TaskRecord`'s fields, in the order a table's columns and the journal's rows follow.

A `core.jobs._table.TaskTable` holds one column per field and builds records
from them by position, and snapshots write a task as an array in field order.
This test pins that order, so adding or moving a field fails here first and
the snapshot format is changed on purpose, never by accident.
"""

from __future__ import annotations

from core.jobs.task import TaskRecord

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
