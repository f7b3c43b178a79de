"""Which HTTP ingress Serve runs in front of the app: its HAProxy ingress, or its Python proxy.

Serve's default HTTP proxy is a Python actor: it hands each request to the
replica as an actor call, and the replica fetches the body back from the
proxy with another, so both spend milliseconds of CPU per request on Ray's
machinery, not on the app. With ``RAY_SERVE_ENABLE_HA_PROXY=1`` and
``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` (Ray's high-throughput mode, Ray >=
2.55) Serve puts HAProxy in front instead and each replica serves HTTP
itself, so a request crosses one HAProxy hop, in C, to the app. The app is
the same either way; the mode is the cluster's, fixed when Ray starts (the
variables must be in the environment of ``ray start``, or of the process
that starts a local Ray), which is why this is an environment and not an
application argument.

HAProxy also listens, on every interface, on a stats port and a Prometheus
metrics port (8404 and 9101 by default); a second such cluster on the same
host fails to start on the same ones, so free ports are chosen unless given.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

from shell.errors import InvalidArgumentError

__all__ = [
    "DRAINING_PERIOD_VARIABLE",
    "HAPROXY_INGRESS",
    "INGRESSES",
    "METRICS_PORT_VARIABLE",
    "PROXY_READY_VARIABLE",
    "STATS_PORT_VARIABLE",
    "ingress_environment",
    "ingress_of",
]

#: The variables of Serve's high-throughput mode: HAProxy ingress, replicas serving HTTP.
HAPROXY_INGRESS = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}
#: Port of HAProxy's stats page (Serve's default 8404).
STATS_PORT_VARIABLE = "RAY_SERVE_HAPROXY_STATS_PORT"
#: Port of HAProxy's Prometheus metrics (Serve's default 9101).
METRICS_PORT_VARIABLE = "RAY_SERVE_HAPROXY_METRICS_PORT"
#: Seconds a stopping replica behind HAProxy stays reachable (Serve's default 30), so
#: that balancers in front can forget it before it refuses connections.
DRAINING_PERIOD_VARIABLE = "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"
#: Seconds Serve's controller gives a starting proxy (either ingress's) to report ready
#: before it kills and restarts it. Serve's default, 5, is shorter than a worker's start-up
#: on a loaded node, and `serve.start` fails outright when its first proxy is killed.
PROXY_READY_VARIABLE = "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S"
_PROXY_READY_SECONDS = "30"
#: The ingresses one can ask for: Serve's HAProxy ingress, or its Python proxy actor.
INGRESSES = ("haproxy", "proxy")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def ingress_environment(ingress: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables to set before starting Ray so that Serve runs ``ingress``.

    ``"haproxy"``: Serve's high-throughput mode, with HAProxy's stats and
    metrics ports taken from ``environ`` when set there, else free ports of
    this host (so two services on one host do not collide). ``"proxy"``:
    Serve's Python proxy actor (both mode variables off). Either way, the
    proxy's start-up allowance (`PROXY_READY_VARIABLE`) from ``environ``
    when set there, else 30 s. O(1).

    Raises:
        InvalidArgumentError: an ``ingress`` not in `INGRESSES` (field ``ingress``).
    """
    ready = {PROXY_READY_VARIABLE: environ.get(PROXY_READY_VARIABLE) or _PROXY_READY_SECONDS}
    if ingress == "proxy":
        return {**dict.fromkeys(HAPROXY_INGRESS, "0"), **ready}
    if ingress != "haproxy":
        raise InvalidArgumentError(
            f"ingress must be one of {INGRESSES}, got {ingress!r}", field="ingress", value=ingress
        )
    variables = {**HAPROXY_INGRESS, **ready}
    for name in (STATS_PORT_VARIABLE, METRICS_PORT_VARIABLE):
        variables[name] = environ.get(name) or str(_free_port())
    return variables


def ingress_of(environ: Mapping[str, str]) -> str:
    """Return the ingress of a Ray started with ``environ``: ``"haproxy"`` or ``"proxy"``; O(1)."""
    return "haproxy" if environ.get("RAY_SERVE_ENABLE_HA_PROXY") == "1" else "proxy"
