"""Unit tests for TaskTable: a job's tasks as an ordered, immutable mapping."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping

import pytest

from core import InvalidTaskError, TaskStatus, add_tasks, apply_task_updates, new_job, new_task
from core.jobs._table import (
    TaskTable,
    empty_task_table,
    task_table_from_columns,
    task_table_from_records,
)
from core.jobs.task import TaskRecord


def _positions(table: TaskTable, ids: list[str]) -> list[int | None]:
    return [table.position(task_id) for task_id in ids]


def _table(ids: list[str]) -> TaskTable:
    return task_table_from_records([new_task(task_id, "a") for task_id in ids])


def test_table_is_a_mapping_in_insertion_order() -> None:
    """Lookups, membership, length and every view follow the order tasks were added."""
    table = _table(["t2", "t0", "t1"])
    assert isinstance(table, Mapping)
    assert list(table) == ["t2", "t0", "t1"]
    assert list(table.keys()) == ["t2", "t0", "t1"]
    assert [r.task_id for r in table.values()] == ["t2", "t0", "t1"]
    assert [k for k, _ in table.items()] == ["t2", "t0", "t1"]
    assert all(table[k].task_id == k for k in table)
    assert len(table) == 3 and "t0" in table and "t9" not in table and 5 not in table
    assert table.get("t9") is None and table.get("t9", "x") == "x"
    with pytest.raises(KeyError):
        table["t9"]


def test_views_support_membership_and_length() -> None:
    """The values and items views answer `in` and `len` like a dict's."""
    table = _table(["a", "b"])
    record = table["a"]
    assert record in table.values() and len(table.values()) == 2
    assert ("a", record) in table.items() and ("a", table["b"]) not in table.items()


def test_appended_keeps_old_table_and_positions() -> None:
    """Appending returns a new table; the original is untouched and positions follow order."""
    table = _table(["a"])
    bigger = table.appended([new_task("b", "x"), new_task("c", "x")])
    assert list(table) == ["a"]
    assert list(bigger) == ["a", "b", "c"]
    assert _positions(bigger, ["a", "b", "c", "z"]) == [0, 1, 2, None]
    assert table.position("b") is None and "b" not in table


def test_evolver_reads_and_writes_fields_by_id_and_keeps_positions() -> None:
    """A draft selects ids, reads and writes their fields in order, and leaves the original."""
    table = _table(["a", "b", "c"])
    draft = table.evolver()
    assert draft.persistent() is table
    assert draft.select(["c", "zz", "a"]) == 1
    assert draft.read("task_id") == ["c", None, "a"]
    draft = table.evolver()
    assert draft.select(["b", "a", "b"]) is None
    assert draft.read("status") == [TaskStatus.PENDING] * 3
    draft.write("result", ["first", "ra", "last"])  # "b" is written twice: the last wins
    draft.write("error", ["eb", "ea", "skipped"], [True, True, False])
    after = draft.persistent()
    assert (after["b"].result, after["b"].error) == ("last", "eb")
    assert (after["a"].result, after["a"].error) == ("ra", "ea")
    assert after["c"] == table["c"] and table["b"].result is None
    assert _positions(after, ["a", "b", "c"]) == [0, 1, 2]
    assert after.columns[0] is table.columns[0]  # fields not written are shared


@pytest.mark.parametrize(
    ("ids", "field", "keep"),
    [(["zz"], "result", None), (["a", "zz"], "result", [True, True]), (["a"], "task_id", None)],
)
def test_evolver_refuses_unknown_ids_and_fixed_fields(
    ids: list[str], field: str, keep: list[bool] | None
) -> None:
    """A draft cannot write a task the table lacks, nor an id, agent, input or round."""
    table = _table(["a", "b"])
    draft = table.evolver()
    draft.select(ids)
    with pytest.raises(InvalidTaskError) as info:
        draft.write(field, ["x"] * len(ids), keep)
    assert info.value.field in ("task_id", "field")
    assert draft.persistent() is table and table["a"].result is None


@pytest.mark.parametrize("values", [["x"], ["x", "y", "z"], iter(["x"])])
def test_a_draft_refuses_values_that_do_not_match_its_rows(values: object) -> None:
    """A write needs one value per selected row: fewer or more is refused, naming the count."""
    table = _table(["a", "b"])
    draft = table.evolver()
    draft.select(["a", "b"])
    with pytest.raises(InvalidTaskError) as info:
        draft.write("result", values)  # type: ignore[arg-type]
    assert info.value.field == "values" and "2 rows" in str(info.value)
    assert draft.persistent() is table


def test_a_field_written_twice_keeps_both_writes_the_later_winning() -> None:
    """A second write of a field builds on the first: rows it leaves keep the first's values."""
    table = _table(["a", "b", "c"])
    draft = table.evolver()
    draft.select(["a", "b"])
    draft.write("result", ["ra", "rb"])
    draft.narrow([False, True])
    draft.write("result", ["rb2"])
    after = draft.persistent()
    assert [after[k].result for k in "abc"] == ["ra", "rb2", None]
    assert table["a"].result is None


def test_a_draft_of_an_older_table_does_not_see_later_tasks() -> None:
    """Ids a later version appended are unknown to a draft of the older table, in any batch."""
    older = _table(["a", "b"])
    newer = older.appended([new_task("c", "x")])  # shares the older table's index
    for ids, unknown in ((["c"], 0), (["a", "c"], 1), (["b"], None), ([], None)):
        draft = older.evolver()
        assert draft.select(ids) == unknown
        assert draft.read("task_id") == [None if i == "c" else i for i in ids]
    assert newer.evolver().select(["c", "a"]) is None


def test_evolver_skips_unknown_ids_a_mask_leaves_out() -> None:
    """Rows a mask does not keep may be unknown: only the kept rows are written."""
    table = _table(["a", "b"])
    draft = table.evolver()
    draft.select(["zz", "b"])
    draft.write("result", ["x", "y"], [False, True])
    assert draft.persistent()["b"].result == "y"


def test_narrow_keeps_the_rows_a_mask_keeps_in_order() -> None:
    """Narrowing a selection keeps the kept rows, in order, for later reads and writes."""
    table = _table(["a", "b", "c"])
    draft = table.evolver()
    draft.select(["c", "zz", "a"])
    draft.narrow([True, False, True])
    assert draft.read("task_id") == ["c", "a"]
    draft.write("result", ["rc", "ra"])
    after = draft.persistent()
    assert (after["a"].result, after["b"].result, after["c"].result) == ("ra", None, "rc")


def test_equality_depends_on_records_and_order() -> None:
    """Tables with the same records in the same order are equal and hash alike."""
    assert _table(["a", "b"]) == _table(["a", "b"])
    assert hash(_table(["a", "b"])) == hash(_table(["a", "b"]))
    assert _table(["a", "b"]) != _table(["b", "a"])
    assert _table(["a"]) == {"a": new_task("a", "a")}
    assert _table(["a"]) != ["a"]


def test_table_is_immutable() -> None:
    """Attributes cannot be rebound and items cannot be assigned."""
    table = _table(["a"])
    with pytest.raises(AttributeError):
        table.columns = table.columns
    with pytest.raises(TypeError):
        table["b"] = new_task("b", "a")  # type: ignore[index]


def test_table_pickles_to_an_equal_table() -> None:
    """A table on its own survives pickling with order and positions intact."""
    table = _table(["z", "y"])
    clone = pickle.loads(pickle.dumps(table))
    assert clone == table and _positions(clone, ["z", "y"]) == [0, 1]
    assert pickle.loads(pickle.dumps(empty_task_table())) == empty_task_table()


def test_update_changes_only_the_updated_record() -> None:
    """An applied update replaces one record in place and leaves every id's position."""
    job = add_tasks(new_job("j", "d"), [{"task_id": f"t{i}", "agent_name": "a"} for i in range(5)])
    after = apply_task_updates(job, [{"task_id": "t3", "status": "running", "at": 1.0}])
    assert _positions(after.tasks, list(job.tasks)) == list(range(5))
    assert [r.task_id for r in after.tasks.values()] == [f"t{i}" for i in range(5)]
    changed = [k for k in job.tasks if job.tasks[k] != after.tasks[k]]
    assert changed == ["t3"]
    assert after.task_order == job.task_order == tuple(f"t{i}" for i in range(5))


def test_index_grows_and_branches_stay_independent() -> None:
    """Appending one task at a time past many index doublings keeps every branch's lookups exact."""
    table = empty_task_table()
    versions = [table]
    for i in range(1500):
        table = table.appended([new_task(f"t{i}", "a")])
        versions.append(table)
    assert _positions(table, [f"t{i}" for i in range(1500)]) == list(range(1500))
    # Every older version still sees exactly its own tasks.
    for size in (0, 1, 7, 256, 257, 1000):
        old = versions[size]
        assert len(old) == size
        assert [old.position(f"t{i}") for i in range(size + 2)] == [*range(size), None, None]
    # Two branches from one version give the same new id different positions.
    base = versions[10]
    left = base.appended([new_task("x", "a")])
    right = base.appended([new_task("y", "a"), new_task("x", "a")])
    assert (left.position("x"), right.position("x"), base.position("x")) == (10, 11, None)
    assert left.position("y") is None and right.position("y") == 10


def test_unknown_ids_of_any_type_are_absent() -> None:
    """Lookups of ids that are not in the table, of any hashable type, find nothing."""
    table = _table([f"t{i}" for i in range(40)])
    for missing in ("t40", "", 0, None, ("t1",), 1.5):
        assert missing not in table
        assert table.get(missing) is None  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        table["t40"]


def test_appends_from_one_table_in_many_threads_each_read_their_own() -> None:
    """Threads appending to the same table at once each get a table of exactly their tasks."""
    base = _table([f"t{i}" for i in range(50)])
    grown: dict[int, TaskTable] = {}

    def append(worker: int) -> None:
        for step in range(20):
            grown[worker] = (grown.get(worker) or base).appended(
                [new_task(f"w{worker}-{step}", "a"), new_task(f"shared-{step}", "a")]
            )

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker, table in grown.items():
        ids = [f"t{i}" for i in range(50)]
        for step in range(20):
            ids += [f"w{worker}-{step}", f"shared-{step}"]
        assert list(table) == ids
        assert _positions(table, ids) == list(range(len(ids)))
        assert f"w{(worker + 1) % 8}-0" not in table
    assert list(base) == [f"t{i}" for i in range(50)] and "shared-0" not in base


def test_columns_and_records_hold_the_same_tasks() -> None:
    """Columns follow TaskRecord's fields; records rebuilt from them equal the ones added."""
    records = [new_task(f"t{i}", f"a{i}", {"q": i}, round=i + 1) for i in range(3)]
    table = task_table_from_records(records)
    assert len(table.columns) == len(TaskRecord._fields)
    assert list(table.columns[TaskRecord._fields.index("agent_name")]) == ["a0", "a1", "a2"]
    assert table.records == tuple(records) and list(table.values()) == records
    same = task_table_from_columns([list(column) for column in table.columns])
    assert same == table and same.records == tuple(records)
    assert task_table_from_columns([]) is empty_task_table()
