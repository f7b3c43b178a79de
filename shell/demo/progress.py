"""Live progress of the demo: a rich bar with done, failed, running, spend and remaining.

Rendering is off when stdout is not a terminal or the report is JSON; the
object still accepts every call, so the driver loop never branches on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from core.budget.money import format_money

__all__ = ["LiveProgress"]


class LiveProgress:
    """A progress bar fed with job and budget summaries.

    Args:
        enabled: Render at all (False for ``--json`` or a non-terminal stdout).
        console: Where to render; rich's stdout console by default.
    """

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.updates = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn(
                    "{task.fields[done]} done  {task.fields[failed]} failed  "
                    "{task.fields[running]} running  spend {task.fields[spend]}  "
                    "remaining {task.fields[remaining]}  batched {task.fields[pending]}"
                ),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> LiveProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(
                "research",
                total=None,
                done=0,
                failed=0,
                running=0,
                spend="0",
                remaining="-",
                pending=0,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(
        self,
        label: str,
        job: Mapping[str, Any],
        budget: Mapping[str, Any],
        pending: int,
    ) -> None:
        """Redraw from a job summary and a budget summary.

        Args:
            label: What is happening ("round 1", "round 2").
            job: A job summary (``total_tasks``, ``completed_tasks``...).
            budget: A budget summary (``total_spent``, ``total_remaining``).
            pending: Updates collected but not flushed yet.
        """
        self.updates += 1
        if self._progress is None or self._task is None:
            return
        remaining: Decimal | None = budget.get("total_remaining")
        done = int(job["completed_tasks"])
        failed = int(job["failed_tasks"])
        self._progress.update(
            self._task,
            description=label,
            total=max(1, int(job["total_tasks"])),
            completed=done + failed,
            done=done,
            failed=failed,
            running=int(job["running_tasks"]),
            spend=format_money(budget["total_spent"]),
            remaining="unlimited" if remaining is None else format_money(remaining),
            pending=pending,
        )
