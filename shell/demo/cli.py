"""Command line of the demo: ``python -m shell.demo`` / ``eap-state-demo``.

Every argument is checked before Ray starts; a bad flag or agents file
prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from core.budget.money import to_money
from core.errors import StateError
from shell.demo.config import ConfigError, DemoConfig, load_config
from shell.demo.progress import LiveProgress
from shell.demo.records import RunOptions
from shell.demo.report import build_report, print_report, to_json
from shell.demo.run import run_refs

__all__ = ["MAX_TASKS", "UsageError", "main", "parse_args"]

PROG = "eap-state-demo"
#: More round-1 jobs than this is not a demo any more.
MAX_TASKS = 5000
#: Durations scale down to 1 % at most, up to 10x.
SPEED_RANGE = (0.01, 10.0)
EXIT_USAGE = 2


class UsageError(StateError):
    """A bad flag value: reported on one line, exit code 2 (a library error like any other)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Run an audience-research job with simulated paid agents on Ray.",
    )
    parser.add_argument("--tasks", type=int, default=20, help="round-1 jobs (default 20)")
    parser.add_argument("--budget", default=None, help="total budget, overrides the agents file")
    parser.add_argument("--agents-file", type=Path, default=None, help="TOML agents file")
    parser.add_argument("--seed", type=int, default=7, help="seed of every simulated draw")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="multiplier of simulated durations (0.1 = 10x faster)",
    )
    parser.add_argument("--json", action="store_true", help="print the final report as JSON only")
    parser.add_argument(
        "--address", default=None, help="join this Ray cluster instead of a local one"
    )
    parser.add_argument(
        "--store", action="store_true", help="concurrent writer tasks against a StateStore"
    )
    parser.add_argument(
        "--writers", type=int, default=4, help="writer tasks with --store, flows with --async"
    )
    parser.add_argument(
        "--async",
        dest="use_async",
        action="store_true",
        help="flows as coroutines in one event loop on an AsyncStateStore, watcher-driven progress",
    )
    parser.add_argument(
        "--journal",
        default=None,
        help="journal file (or sqlite:///, postgresql:// URL): a durable store; implies --store",
    )
    parser.add_argument(
        "--chaos", type=int, default=0, help="kill the store's actor N times (needs --journal)"
    )
    return parser


def _journal_url(value: str | None) -> str | None:
    """A path becomes an absolute SQLite URL; a URL is kept."""
    if value is None or "://" in value:
        return value
    return f"sqlite://{Path(value).expanduser().resolve()}"


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, RunOptions, Decimal | None]:
    """Parse and check the command line.

    Returns:
        The namespace, the `RunOptions` and the ``--budget`` override (or None).

    Raises:
        UsageError: an unknown flag or a value out of range, with a one-line message.
    """
    args = _build_parser().parse_args(argv)
    if not 1 <= args.tasks <= MAX_TASKS:
        raise UsageError(f"--tasks must be from 1 to {MAX_TASKS}, got {args.tasks}")
    low, high = SPEED_RANGE
    if not low <= args.speed <= high:  # also refuses nan
        raise UsageError(f"--speed must be from {low} to {high}, got {args.speed}")
    if not 1 <= args.writers <= 64:
        raise UsageError(f"--writers must be from 1 to 64, got {args.writers}")
    if args.use_async and (args.store or args.journal is not None):
        raise UsageError("--async is a mode of its own: drop --store and --journal")
    journal = _journal_url(args.journal)
    if journal is not None:
        from shell.journal import open_journal

        try:
            open_journal(journal)
        except StateError as err:
            raise UsageError(f"--journal: {err}") from None
        args.store = True
    if not 0 <= args.chaos <= 20:
        raise UsageError(f"--chaos must be from 0 to 20, got {args.chaos}")
    if args.chaos and journal is None:
        raise UsageError("--chaos needs --journal: a store without one must not restart")
    if args.writers != 4 and not (args.store or args.use_async):
        raise UsageError("--writers only applies with --store or --async")
    budget = None
    if args.budget is not None:
        try:
            budget = to_money(args.budget, "--budget")
        except StateError:
            raise UsageError(
                f"--budget must be a non-negative amount such as 25.00, got {args.budget!r}"
            ) from None
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    options = RunOptions(
        tasks=args.tasks,
        seed=args.seed,
        speed=args.speed,
        store=args.store,
        writers=args.writers,
        journal=journal,
        chaos=args.chaos,
    )
    return args, options, budget


def _start_ray(address: str | None) -> Any:
    """Join ``address`` or start a local Ray; return ray if this call started it, else None."""
    import ray

    if ray.is_initialized():
        return None
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address is None:
        kwargs["include_dashboard"] = False
    ray.init(address=address, **kwargs)
    return ray


def _say(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the exit code (0 ok, 1 failed run, 2 bad usage).

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.
    """
    try:
        args, options, budget = parse_args(argv)
        config: DemoConfig = load_config(args.agents_file)
    except (UsageError, ConfigError) as err:
        _say(str(err).splitlines()[0])
        return EXIT_USAGE
    if budget is not None:
        config = config.with_budget(budget)

    console = Console()
    live = not args.json and console.is_terminal
    started = None
    try:
        started = _start_ray(args.address)
        with LiveProgress(live, console) as progress:
            if args.use_async:
                from shell.demo.async_mode import run_async

                result = run_async(config, options, progress)
            elif options.store:
                from shell.demo.store_mode import run_store

                result = run_store(config, options, progress)
            else:
                result = run_refs(config, options, progress)
        report = build_report(result)
    except StateError as err:
        _say(str(err).splitlines()[0])
        return 1
    except ConnectionError as err:
        _say(f"cannot reach Ray at {args.address!r}: {err}")
        return 1
    finally:
        if started is not None:
            started.shutdown()
    if args.json:
        print(to_json(report))
    else:
        print_report(report, console)
    return 0
