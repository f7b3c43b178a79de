"""Pieces of the async batcher's flush: items of one kind out of a batch and back, and senders.

The senders carry a flush's command id to a store, or drop it for the ref path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyrsistent import pvector

from core.batching import PendingBatch

__all__ = ["requeue", "take", "with_id", "without_id"]


def take(batch: PendingBatch, kind: str) -> tuple[PendingBatch, list[Any]]:
    """Return the batch without its items of ``kind``, and those items."""
    return batch._replace(**{kind: pvector()}), list(getattr(batch, kind))


def requeue(batch: PendingBatch, kind: str, items: Sequence[Any]) -> PendingBatch:
    """Return the batch with ``items`` (from a flush that did not apply) back in front. O(n)."""
    return batch._replace(**{kind: pvector(items).extend(getattr(batch, kind))})


def with_id(method: Callable[..., Any]) -> Callable[[list[Any], str], Any]:
    """A store's batch method, sent with the flush's command id (applied at most once)."""

    def send(items: list[Any], command_id: str) -> Any:
        return method(items, command_id=command_id)

    return send


def without_id(method: Callable[..., Any]) -> Callable[[list[Any], str], Any]:
    """A ref-path batch method: a new ref per flush, nothing to deduplicate."""

    def send(items: list[Any], command_id: str) -> Any:
        del command_id
        return method(items)

    return send
