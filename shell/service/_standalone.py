"""``python -m shell.service``: start a store from an agents file and serve it, until stopped.

For a run on one machine: starts a local Ray (or joins ``--address``),
creates the store, starts Serve's HTTP ingress and deploys the app over it.
A local Ray runs Serve's HAProxy ingress unless ``--ingress proxy`` asks for
its Python proxy (`shell.service._ingress`); a joined cluster keeps its own.
Tokens come from the environment or ``--token-file``, never the command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.budget.reducers import new_budget
from core.errors import StateError
from shell.errors import InvalidArgumentError
from shell.service._ingress import DRAINING_PERIOD_VARIABLE, INGRESSES, ingress_environment
from shell.service._settings import service_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["load_agents_file", "main", "parse_args"]

# The agent keys that are budget config; others (such as the demo's simulation
# fields) are for other readers of the same file and are left alone.
_AGENT_KEYS = ("name", "price", "max_total_spend")
_APP_NAME = "eap-state"
# How long the ingress may take to route a freshly deployed app before the start fails.
_ROUTING_WAIT_S = 60.0


def load_agents_file(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read ``[budget]`` and ``[[agents]]`` from a TOML file (as the demo's agents file).

    Returns:
        ``(budget_config, agents_config)``; the core validates both when the store starts.

    Raises:
        InvalidArgumentError: the file is missing, not TOML, or has no ``[[agents]]`` list.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InvalidArgumentError(
            f"cannot read the agents file {str(path)!r}: {err}",
            field="agents_file",
            value=str(path),
        ) from None
    agents = data.get("agents")
    if not isinstance(agents, list) or not all(isinstance(a, dict) for a in agents):
        raise InvalidArgumentError(
            f"the agents file {str(path)!r} needs an [[agents]] list of tables",
            field="agents",
            value=str(path),
        )
    budget = data.get("budget", {})
    if not isinstance(budget, dict):
        raise InvalidArgumentError(
            f"[budget] of {str(path)!r} must be a table", field="budget", value=budget
        )
    return dict(budget), [{k: a[k] for k in _AGENT_KEYS if k in a} for a in agents]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line of ``python -m shell.service``."""
    parser = argparse.ArgumentParser(
        prog="python -m shell.service",
        description="Start an eap-state store and serve it over HTTP with Ray Serve. "
        "Tokens: EAP_STATE_WRITE_TOKEN and EAP_STATE_READ_TOKEN, or --token-file.",
    )
    parser.add_argument("--agents-file", type=Path, required=True, help="TOML with [[agents]]")
    parser.add_argument("--budget", help="total budget (overrides the file's [budget])")
    parser.add_argument("--name", default="eap-state", help="the store's actor name")
    parser.add_argument("--namespace", default="eap-state", help="the store's Ray namespace")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (Serve's default 8000)")
    parser.add_argument("--address", help="join this Ray cluster instead of starting one")
    parser.add_argument(
        "--ingress",
        choices=INGRESSES,
        help="Serve's HTTP ingress of the local Ray: haproxy (the default, for throughput) "
        "or Serve's Python proxy; a cluster joined with --address keeps its own",
    )
    parser.add_argument(
        "--journal",
        help="journal URL (sqlite:///abs/path.db or postgresql://...): the store survives "
        "restarts; a store of that name already in it is recovered",
    )
    parser.add_argument(
        "--group-commit",
        action="store_true",
        help="with --journal: let the replicas' concurrent writes share commits, worth it "
        "when a commit costs more than a call (PostgreSQL across a network, a slow disk)",
    )
    parser.add_argument("--token-file", help="file with 'write = ...' and 'read = ...' lines")
    parser.add_argument("--max-body-bytes", help="request body limit (default 1 MiB)")
    return parser.parse_args(argv)


def _app_args(options: argparse.Namespace) -> dict[str, str]:
    args = {"store_name": options.name, "namespace": options.namespace}
    if options.token_file is not None:
        args["token_file"] = options.token_file
    if options.max_body_bytes is not None:
        args["max_body_bytes"] = options.max_body_bytes
    return args


def _wait_until_routed(host: str, port: int, within: float = _ROUTING_WAIT_S) -> None:
    """Return once the ingress routes the app's page; ``serve.run`` returns before it may.

    Serve's ingress learns the app's route a moment after the app is running:
    until then it answers 404, and "ready" would be a lie.

    Raises:
        StateUnavailable: the page was still not routed after ``within`` seconds.
    """
    from shell.errors import StateUnavailable

    address = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{address}:{port}/"
    deadline = time.monotonic() + within
    answer = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError as err:
            if err.code != 404:
                return  # routed: the app itself answered
            answer = "404"
        except OSError as err:  # not listening yet
            answer = type(err).__name__
        time.sleep(0.2)
    raise StateUnavailable(
        f"the service's ingress did not route {url} within {within:g} s (last: {answer})",
        field="port",
        value=port,
    )


def _serve_until_stopped(options: argparse.Namespace, budget: Any, agents: Any) -> None:
    import ray
    from ray import serve

    from shell.errors import StoreExistsError
    from shell.service._deployment import app
    from shell.store import StateStore

    if options.address is None:
        # Read by Serve's processes when they start, so set before Ray starts them.
        os.environ.update(ingress_environment(options.ingress or "haproxy", os.environ))
        # HAProxy stops with the service, so no balancer needs time to forget the
        # replica: stopping need not wait Serve's 30 s for one.
        os.environ.setdefault(DRAINING_PERIOD_VARIABLE, "0")
    ray.init(address=options.address, include_dashboard=False, log_to_driver=False)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        store = StateStore.create(
            budget,
            agents,
            name=options.name,
            namespace=options.namespace,
            journal=options.journal,
            group_commit=options.group_commit,
        )
    except StoreExistsError:
        if options.journal is None:
            raise
        store = StateStore.recover(
            options.name,
            options.journal,
            namespace=options.namespace,
            group_commit=options.group_commit,
        )
    try:
        serve.start(http_options={"host": options.host, "port": options.port})
        serve.run(app(_app_args(options)), name=_APP_NAME, route_prefix="/")
        _wait_until_routed(options.host, options.port)
        print(f"eap-state service ready at http://{options.host}:{options.port}/", flush=True)
        stop.wait()
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
        store.shutdown()
        ray.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the standalone service; return the exit status (2 for a bad configuration)."""
    options = parse_args(argv)
    try:
        service_settings(_app_args(options))  # tokens and limits, checked before Ray starts
        if options.ingress is not None and options.address is not None:
            raise InvalidArgumentError(
                "--ingress applies to a local Ray only: a cluster joined with --address "
                "runs the ingress it was started with",
                field="ingress",
                value=options.ingress,
            )
        if options.group_commit and options.journal is None:
            raise InvalidArgumentError(
                "--group-commit needs --journal: a store in memory commits nothing",
                field="group_commit",
                value=True,
            )
        budget, agents = load_agents_file(options.agents_file)
        if options.budget is not None:
            budget["total_budget"] = options.budget
        new_budget(budget, agents)  # the core's check, before Ray starts
    except StateError as err:
        print(f"python -m shell.service: {err}", file=sys.stderr)
        return 2
    _serve_until_stopped(options, budget, agents)
    return 0
