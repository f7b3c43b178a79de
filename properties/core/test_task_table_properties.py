"""TaskTable against a dict: any history of appends, from any earlier version, reads the same.

The tables of one line of appends share one position index, extended in
place by the one append allowed to claim it; every version must keep
answering for exactly its own tasks, even when two versions branch from one
ancestor (the second branch indexes its own records).
"""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from core.jobs._table import TaskTable, empty_task_table
from core.jobs.task import TaskRecord, new_task

# Few distinct ids, so branches often reuse an id at different positions.
_IDS = [f"t{i}" for i in range(600)]

appends = st.lists(
    st.tuples(
        st.integers(min_value=0),  # which earlier version to extend
        st.lists(st.sampled_from(_IDS), max_size=300, unique=True),
    ),
    max_size=12,
)


def _check(table: TaskTable, model: dict[str, TaskRecord]) -> None:
    """Assert the table holds exactly the model's tasks, in its order."""
    assert list(table) == list(model)
    assert len(table) == len(model)
    assert [table.position(i) for i in _IDS] == [
        list(model).index(i) if i in model else None for i in _IDS
    ]
    assert all(table.get(i) == model.get(i) for i in _IDS)
    assert all((i in table) == (i in model) for i in _IDS)


@given(appends)
def test_every_version_reads_like_its_dict(history: list[tuple[int, list[str]]]) -> None:
    """After appends from arbitrary earlier versions, each version matches its own dict model."""
    versions: list[tuple[TaskTable, dict[str, TaskRecord]]] = [(empty_task_table(), {})]
    for pick, ids in history:
        table, model = versions[pick % len(versions)]
        fresh = [new_task(i, "a") for i in ids if i not in model]
        grown = dict(model)
        grown.update((r.task_id, r) for r in fresh)
        versions.append((table.appended(fresh), grown))
    for table, model in versions:
        _check(table, model)
        _check(pickle.loads(pickle.dumps(table)), model)
