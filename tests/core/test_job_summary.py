"""Unit tests for the job projections: summary, results and failures."""

from __future__ import annotations

from core import add_tasks, apply_task_updates, job_failures, job_results, new_job, summarize_job


def sample_job():  # type: ignore[no-untyped-def]
    job = add_tasks(
        new_job("job-7", "vegan runners", created_at=100.0),
        [
            {"task_id": "a", "agent_name": "scout", "input_data": {"q": "diet"}},
            {"task_id": "b", "agent_name": "miner", "input_data": {"q": "shoes"}},
            {"task_id": "c", "agent_name": "scout", "round": 2},
        ],
    )
    return apply_task_updates(
        job,
        [
            {"task_id": "b", "status": "running", "at": 101.0},
            {"task_id": "a", "status": "running", "at": 102.0},
            {"task_id": "b", "status": "completed", "result": {"n": 3}, "at": 105.0},
            {"task_id": "a", "status": "failed", "error": "rate limited", "at": 106.0},
        ],
    )


def test_summary_counts_and_fields() -> None:
    """The summary reports totals per status, per round, and completion."""
    summary = summarize_job(sample_job())
    assert summary["job_id"] == "job-7"
    assert summary["description"] == "vegan runners"
    assert (summary["total_tasks"], summary["pending_tasks"], summary["running_tasks"]) == (3, 1, 0)
    assert (summary["completed_tasks"], summary["failed_tasks"]) == (1, 1)
    assert summary["is_complete"] is False
    assert summary["completed_at"] is None and summary["duration"] is None
    assert summary["rounds"] == {
        1: {"pending": 0, "running": 0, "completed": 1, "failed": 1, "total": 2},
        2: {"pending": 1, "running": 0, "completed": 0, "failed": 0, "total": 1},
    }


def test_summary_of_complete_job_has_duration() -> None:
    """Once every task is terminal the summary is complete with a duration from creation."""
    job = apply_task_updates(sample_job(), [{"task_id": "c", "status": "completed", "at": 130}])
    summary = summarize_job(job)
    assert summary["is_complete"] is True
    assert summary["completed_at"] == 130.0
    assert summary["duration"] == 30.0


def test_summary_of_empty_job() -> None:
    """An empty job summarises as zero tasks, not complete."""
    summary = summarize_job(new_job("e", "d"))
    assert summary["total_tasks"] == 0 and summary["is_complete"] is False
    assert summary["rounds"] == {}


def test_results_list_completed_tasks_in_insertion_order() -> None:
    """Results hold one plain row per completed task, in the order tasks were added."""
    job = apply_task_updates(sample_job(), [{"task_id": "c", "status": "completed", "at": 130}])
    rows = job_results(job)
    assert [r["task_id"] for r in rows] == ["b", "c"]
    assert rows[0]["agent_name"] == "miner"
    assert rows[0]["input_data"] == {"q": "shoes"} and type(rows[0]["input_data"]) is dict
    assert rows[0]["result"] == {"n": 3}
    assert rows[0]["duration"] == 4.0
    assert rows[1]["duration"] is None


def test_failures_carry_errors() -> None:
    """Failures list each failed task with its error."""
    rows = job_failures(sample_job())
    assert [(r["task_id"], r["error"]) for r in rows] == [("a", "rate limited")]
