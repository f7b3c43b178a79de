"""Counted Ray operations, Ray failures as library errors, and job transfers, on real Ray."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import InvalidUpdateError, StateError
from core.jobs.job import add_tasks, new_job
from core.jobs.reducers import apply_task_updates
from shell import (
    BudgetManager,
    StateCache,
    StateManager,
    ray_op_counts,
    ray_ops,
    reset_ray_op_counts,
)
from shell.errors import InvalidArgumentError, StateUnavailable
from shell.ray_ops import ray_get, ray_put, translate_ray_error


@pytest.fixture
def ray(ray_session):
    """The session's Ray, with the shell's op counts reset."""
    reset_ray_op_counts()
    return ray_session


def _mixed_job(n: int):
    """A job whose results mix frozen dicts, nested values, strings and None."""
    job = new_job("j", "d", 1.0)
    job = add_tasks(
        job,
        [
            {"task_id": f"t{i}", "agent_name": "a", "input_data": {"i": i} if i % 3 else None}
            for i in range(n)
        ],
    )
    results = [{"a": {"b": [1, 2]}}, "text", None, {"flat": 1}]
    return apply_task_updates(
        job,
        [
            {"task_id": f"t{i}", "status": "completed", "result": results[i % 4], "at": 2.0}
            for i in range(0, n, 2)
        ],
    )


def test_counts_one_per_call_and_reset(ray):
    """Each put counts one, a get of a list of refs counts one, and reset zeroes both."""
    refs = [ray_put(i) for i in range(3)]
    assert ray_get(refs) == [0, 1, 2]
    assert ray_get(refs[0]) == 0
    assert ray_op_counts() == {"get": 2, "put": 3}
    reset_ray_op_counts()
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_metrics_counters_are_created_once_ray_runs(ray):
    """After a counted op the Ray metrics counters exist and metrics stay enabled."""
    ray_get(ray_put(1))
    StateCache().get(ray_put(2))
    assert {"get", "put", "hit", "miss"} <= set(ray_ops._metrics)
    assert ray_ops._metrics_disabled is False


def test_bad_arguments_are_refused_before_ray(ray):
    """Non-refs and negative timeouts raise InvalidArgumentError; nothing is counted."""
    with pytest.raises(InvalidArgumentError) as info:
        ray_get("abc")
    assert info.value.field == "ref"
    with pytest.raises(InvalidArgumentError) as info:
        ray_get([ray.put(1), 2])
    assert info.value.index == 1
    with pytest.raises(InvalidArgumentError) as info:
        ray_get(ray.put(1), timeout=-1)
    assert info.value.field == "timeout"
    assert ray_op_counts() == {"get": 0, "put": 0}


def test_object_whose_owner_died_is_state_unavailable(ray):
    """A ref owned by a killed actor raises StateUnavailable naming the ref, caused by Ray."""

    @ray.remote
    class Owner:
        def make(self):
            return [ray.put({"state": 1})]

    owner = Owner.remote()
    [inner] = ray.get(owner.make.remote())
    ray.kill(owner)
    # Killing is asynchronous, and so is the raylet freeing the dead owner's
    # objects: until both happen the value may still be served.
    deadline = time.monotonic() + 30
    raised: StateUnavailable | None = None
    while raised is None and time.monotonic() < deadline:
        try:
            ray_get(inner, timeout=5)
            time.sleep(0.2)
        except StateUnavailable as err:
            raised = err
    assert raised is not None, "the object of a dead owner stayed readable for 30 s"
    info = pytest.ExceptionInfo.from_exception(raised)
    assert isinstance(info.value, StateError)
    assert inner.hex() in str(info.value)
    assert info.value.field == "ref"
    assert type(info.value.__cause__).__module__.startswith("ray")
    with pytest.raises(StateUnavailable):
        StateCache().get(inner)
    with pytest.raises(StateUnavailable):
        StateManager.get_job_summary(inner)


def test_timeout_is_state_unavailable(ray):
    """A get that times out raises StateUnavailable, not GetTimeoutError."""

    @ray.remote
    def slow():
        time.sleep(3)
        return 1

    with pytest.raises(StateUnavailable) as info:
        ray_get(slow.remote(), timeout=0.05)
    assert "GetTimeoutError" in str(info.value)


def test_library_error_raised_remotely_is_unwrapped_to_its_type(ray):
    """A StateError raised in a Ray task arrives as exactly that type with its attributes."""

    @ray.remote
    def bad():
        raise InvalidUpdateError("status 'done' is unknown", field="status", value="done")

    with pytest.raises(InvalidUpdateError) as info:
        ray_get(bad.remote())
    assert type(info.value) is InvalidUpdateError
    assert (info.value.field, info.value.value) == ("status", "done")


def test_translate_leaves_errors_that_are_not_ray_s_alone(ray):
    """An error that is neither Ray's nor ours passes through translate_ray_error unchanged."""
    err = KeyError("x")
    assert translate_ray_error(err, "ref") is err


def test_a_ref_whose_producing_task_failed_is_state_unavailable_saying_why(ray):
    """ray_get of a failed task's ref is StateUnavailable naming the task's KeyError, not Ray's."""

    @ray.remote
    def broken():
        raise KeyError("user bug")

    ref = broken.remote()
    with pytest.raises(StateUnavailable) as info:
        ray_get(ref)
    assert "could not be read" in str(info.value)
    assert "KeyError" in str(info.value) and "user bug" in str(info.value)
    assert isinstance(info.value.__cause__, ray.exceptions.RayTaskError)
    with pytest.raises(StateUnavailable):
        StateManager.get_job_summary(ref)
    with pytest.raises(StateUnavailable):
        BudgetManager.check_and_reserve_budget(ref, "a", None)


def test_a_value_ray_cannot_serialise_is_state_unavailable_and_nothing_escapes(ray):
    """ray_put of an unpicklable value raises StateUnavailable with the pickling error chained."""
    with pytest.raises(StateUnavailable) as info:
        ray_put(threading.Lock())
    assert info.value.__cause__ is not None


def test_job_crosses_processes_equal(ray):
    """A job put by the shell is read back equal here and in a Ray task."""
    job = _mixed_job(1000)
    ref = ray_put(job)
    assert ray.get(ref) == job

    @ray.remote
    def probe(j):
        return len(j.tasks), j.tasks["t0"].result, j.status_counts["completed"]

    assert ray.get(probe.remote(ref)) == (1000, {"a": {"b": (1, 2)}}, 500)
