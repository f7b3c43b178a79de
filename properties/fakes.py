"""Test doubles shared by the state machines."""

from __future__ import annotations


class FakeClock:
    """A clock the machine moves by hand: seconds, monotonic or epoch as the test needs."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
