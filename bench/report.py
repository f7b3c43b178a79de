"""Benchmark report pieces: every scenario returns `Section`s; `bench.__main__` writes them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section", "interleaved_medians", "median_seconds", "ratio", "time_calls"]


@dataclass
class Section:
    """One table of the performance report.

    Attributes:
        key: Stable identifier, used to order sections and by tests.
        title: Markdown heading.
        intro: One paragraph: what is measured and the target.
        headers: Column names.
        rows: Table rows, already formatted as strings or numbers.
        verdicts: Target checks as ``(claim, passed)`` pairs, shown under the table.
        data: Raw figures for plots and machine-readable output.
    """

    key: str
    title: str
    intro: str
    headers: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    verdicts: list[tuple[str, bool]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """Render the section as a Markdown heading, paragraph, table and checklist."""
        lines = [f"## {self.title}", "", self.intro, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in self.rows)
        if self.verdicts:
            lines.append("")
            lines.extend(f"- {'PASS' if ok else 'MISS'}: {claim}" for claim, ok in self.verdicts)
        lines.append("")
        return "\n".join(lines)


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times; return seconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_seconds(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    return statistics.median(time_calls(fn, repeat, warmup))


def interleaved_medians(
    fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeat: int, warmup: int = 1
) -> tuple[float, float]:
    """Median seconds of ``fn_a`` and of ``fn_b``, timed alternately ``repeat`` times each."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, samples in ((fn_a, a), (fn_b, b)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, infinite when the denominator is zero."""
    return numerator / denominator if denominator else float("inf")
