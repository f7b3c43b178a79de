"""The async batcher's senders: they carry a flush's command id to a store, or drop it for refs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["with_id", "without_id"]


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
