"""Run every benchmark scenario in one process and write docs/performance.md.

Usage: ``python -m bench [--quick] [--only KEY ...] [--output PATH]``.

Each scenario module exposes ``run(quick: bool) -> list[Section]``; Ray-based
scenarios share one local Ray started here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from bench.report import Section

SCENARIOS = (
    "bench.core_speed",
    "bench.shell_ops",
    "bench.store_concurrency",
    "bench.scaling",
    "bench.journal",
    "bench.async_api",
    "bench.service_http",
)
NEEDS_RAY = {
    "bench.shell_ops",
    "bench.store_concurrency",
    "bench.scaling",
    "bench.journal",
    "bench.async_api",
    "bench.service_http",
}


def _versions() -> str:
    found = []
    for name in ("pyrsistent", "ray", "cachetools", "hypothesis"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def _header(command: str, elapsed: float) -> str:
    return "\n".join(
        [
            "# Performance",
            "",
            "Every figure below was measured in one run of the command shown, side by side",
            "with the pattern it replaces, on the machine described. Ratios matter more than",
            "absolute times: rerun the command to check them on yours.",
            "",
            f"- Command: `{command}`",
            f"- Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}",
            f"- Python {platform.python_version()}; {_versions()}",
            f"- Run took {elapsed:.0f} s",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and write the report; return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, ~2 minutes")
    parser.add_argument("--only", nargs="*", default=None, help="scenario modules to run")
    parser.add_argument("--output", default="docs/performance.md", help="report path")
    parser.add_argument("--json", default=None, help="also write raw figures to this file")
    parser.add_argument(
        "--serve-ingress",
        default="haproxy",
        help="Serve's HTTP ingress of the local Ray: haproxy or proxy (see docs/service.md)",
    )
    args = parser.parse_args(argv)

    modules = [m for m in SCENARIOS if args.only is None or m.split(".")[-1] in args.only]
    started = time.perf_counter()
    ray = None
    if any(m in NEEDS_RAY for m in modules):
        import ray

        from shell.service import ingress_environment

        # Serve's processes read it when they start: set before Ray starts them.
        os.environ.update(ingress_environment(args.serve_ingress, os.environ))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    sections: list[Section] = []
    try:
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as err:
                if err.name == name:
                    print(f"skipping {name}: not written yet", file=sys.stderr)
                    continue
                raise
            print(f"running {name} ...", file=sys.stderr, flush=True)
            sections.extend(module.run(quick=args.quick))
    finally:
        if ray is not None:
            ray.shutdown()
    elapsed = time.perf_counter() - started

    command = "python -m bench" + (" --quick" if args.quick else "")
    if args.serve_ingress != "haproxy":
        command += f" --serve-ingress {args.serve_ingress}"
    body = _header(command, elapsed) + "\n" + "\n".join(s.to_markdown() for s in sections)
    extra = Path("docs/performance-notes.md")
    if extra.exists():
        body += "\n" + extra.read_text()
    Path(args.output).write_text(body)
    print(body)
    if args.json:
        Path(args.json).write_text(
            json.dumps({s.key: s.data for s in sections}, indent=2, default=str)
        )
    missed = [claim for s in sections for claim, ok in s.verdicts if not ok]
    for claim in missed:
        print(f"MISS: {claim}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
