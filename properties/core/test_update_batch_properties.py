"""Properties of `UpdateBatch`: trusting a parsed batch never changes what a batch does.

For any job and any mixed batch (valid, malformed, unknown ids, forbidden
moves), applying the batch as given, as `parse_updates` made it, as parsed
rows from `parse_update`, or as an unpickled (untrusted) batch gives the same
job or the same error: trust only skips checks that would pass.
"""

from __future__ import annotations

import pickle
from typing import Any

from hypothesis import given

from core import StateError, apply_task_update, apply_task_updates, parse_update, parse_updates
from core.jobs.job import JobExecution
from properties.strategies import check_batch_matches_sequential, jobs_and_updates


def _outcome(job: JobExecution, updates: Any) -> Any:
    try:
        return apply_task_updates(job, updates)
    except StateError as err:
        return (type(err), err.field, err.index)


@given(jobs_and_updates(max_size=10))
def test_every_form_of_a_batch_applies_alike(case: tuple[JobExecution, list[Any]]) -> None:
    """As given, parsed once, as parsed rows or off the wire: the same job or the same error."""
    job, updates = case
    expected = _outcome(job, updates)
    try:
        batch = parse_updates(updates)
    except StateError:
        # Malformed: the reducer's error may be an earlier update's (unknown task,
        # forbidden move), as applying one at a time would find; other tests check it.
        assert isinstance(expected, tuple)
        return
    assert _outcome(job, batch) == expected
    assert _outcome(job, [parse_update(u) for u in updates]) == expected
    assert _outcome(job, pickle.loads(pickle.dumps(batch))) == expected


@given(jobs_and_updates(max_size=10))
def test_a_parsed_batch_matches_one_at_a_time(case: tuple[JobExecution, list[Any]]) -> None:
    """A batch made by parse_updates, applied at once, equals applying its updates in turn."""
    job, updates = case
    try:
        batch = parse_updates(updates)
    except StateError:
        return
    check_batch_matches_sequential(
        job, list(batch), lambda j, _: apply_task_updates(j, batch), apply_task_update
    )
