"""The service's parts that need no Ray: tokens, settings, problems, the wire, the ready wait."""

from __future__ import annotations

import http.server
import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from core.errors import BudgetError, InvalidTransitionError
from shell.errors import InvalidArgumentError, StateUnavailable, UnknownJobError
from shell.service import AccessTokens, load_tokens, service_settings
from shell.service._ingress import (
    HAPROXY_INGRESS,
    METRICS_PORT_VARIABLE,
    PROXY_READY_VARIABLE,
    STATS_PORT_VARIABLE,
    ingress_environment,
)
from shell.service._problems import (
    BodyTooLargeError,
    UnknownAgentError,
    error_problem,
    status_of,
)
from shell.service._schemas import COMPONENTS, check_array, check_object
from shell.service._standalone import _wait_until_routed
from shell.service._tokens import Access
from shell.service._wire import dumps, read_json

WRITE, READ = "w" * 20, "r" * 20


def test_tokens_grant_write_read_or_nothing() -> None:
    """The write token grants WRITE, the read token READ, anything else NONE."""
    tokens = AccessTokens.from_secrets(WRITE, READ)
    assert tokens.access_of(WRITE) is Access.WRITE
    assert tokens.access_of(READ) is Access.READ
    for wrong in (None, "", WRITE[:-1], READ + "x", "\ud800"):
        assert tokens.access_of(wrong) is Access.NONE
    assert WRITE not in repr(tokens) and "digest" in repr(tokens)


@pytest.mark.parametrize(
    ("write", "read"), [("short", READ), (WRITE, WRITE), (f" {WRITE}", READ), (WRITE, 5)]
)
def test_weak_or_equal_tokens_are_refused_without_echoing_them(write: object, read: object) -> None:
    """Short, padded, non-str or equal tokens raise InvalidArgumentError that holds no token."""
    with pytest.raises(InvalidArgumentError) as caught:
        AccessTokens.from_secrets(write, read)  # type: ignore[arg-type]
    assert caught.value.value is None and WRITE not in str(caught.value)


def test_tokens_load_from_a_file_or_the_environment(tmp_path: Path) -> None:
    """load_tokens reads 'write =' / 'read =' lines, else the two environment variables."""
    path = tmp_path / "tokens"
    path.write_text(f"# comment\nwrite = {WRITE}\nread = {READ}\n")
    assert load_tokens(path).access_of(READ) is Access.READ
    env = {"EAP_STATE_WRITE_TOKEN": WRITE, "EAP_STATE_READ_TOKEN": READ}
    assert load_tokens(None, env).access_of(WRITE) is Access.WRITE
    with pytest.raises(InvalidArgumentError, match="EAP_STATE_WRITE_TOKEN"):
        load_tokens(None, {})
    path.write_text(f"write = {WRITE}\n")
    with pytest.raises(InvalidArgumentError, match="no read line"):
        load_tokens(path)
    with pytest.raises(InvalidArgumentError, match="cannot read"):
        load_tokens(tmp_path / "missing")


def test_settings_check_their_arguments() -> None:
    """service_settings accepts strings as serve run passes them and refuses bad ones."""
    env = {"EAP_STATE_WRITE_TOKEN": WRITE, "EAP_STATE_READ_TOKEN": READ}
    settings = service_settings({"store_name": "s", "max_body_bytes": "2048"}, env)
    assert (settings.store_name, settings.namespace, settings.max_body_bytes) == ("s", None, 2048)
    for bad in (
        {},
        {"store_name": ""},
        {"store_name": "s", "max_body_bytes": "0"},
        {"store_name": "s", "timeout": "nan"},
        {"store_name": "s", "num_replicas": True},
        {"store_name": "s", "write_token": WRITE},
    ):
        with pytest.raises(InvalidArgumentError):
            service_settings(bad, env)


def test_statuses_follow_the_error_family() -> None:
    """Unavailable 503, unknown job or agent 404, conflicts 409, other bad input 422."""
    assert status_of(StateUnavailable("gone")) == 503
    assert status_of(UnknownJobError("x", field="job_id")) == 404
    assert status_of(UnknownAgentError("x", field="agent_name")) == 404
    assert status_of(InvalidTransitionError("x")) == 409
    assert status_of(BudgetError("x", field="reservation_id")) == 409
    assert (
        status_of(BudgetError("record[0]: conflicting duplicate cost record", field="job_id"))
        == 409
    )
    assert status_of(BudgetError("bad amount", field="expected")) == 422
    assert status_of(InvalidArgumentError("x")) == 422
    assert status_of(BodyTooLargeError("x", field="body", value=1)) == 413


def test_problem_bodies_bound_the_value_and_survive_hostile_reprs() -> None:
    """A problem echoes a small value as is, a big one cut short, an unprintable one by type."""

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    _, small = error_problem(InvalidArgumentError("m", field="f", value=7, index=2))
    assert (small["field"], small["value"], small["index"]) == ("f", 7, 2)
    _, big = error_problem(InvalidArgumentError("m", field="f", value="x" * 10_000))
    assert len(big["value"]) <= 200
    _, odd = error_problem(InvalidArgumentError("m", field="f", value=Hostile()))
    assert odd["value"] == "<unprintable Hostile>"
    assert json.loads(dumps(odd))["title"] == "InvalidArgumentError"


def test_money_leaves_as_exact_decimal_strings() -> None:
    """dumps writes Decimals exactly, never in exponent form, and refuses unknown types."""
    assert json.loads(
        dumps({"a": Decimal("0E-18"), "b": Decimal("1E+2"), "c": Decimal("2.50")})
    ) == {
        "a": "0.000000000000000000",
        "b": "100",
        "c": "2.50",
    }
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_request_bodies_must_be_json_text() -> None:
    """read_json refuses NaN, bad UTF-8 and lone surrogates, and keeps surrogate pairs."""
    assert read_json(b'["\\ud83d\\ude00"]') == ["\U0001f600"]
    for raw in (b"[NaN]", b"\xff", b'["\\udc00"]', b"{"):
        with pytest.raises(InvalidArgumentError):
            read_json(raw)


def test_body_shapes_follow_the_core_keys() -> None:
    """The schema's task and update keys are the core's, and shapes are checked by key."""
    from core.jobs.task import TASK_SPEC_KEYS
    from core.jobs.task_update import ALLOWED_UPDATE_KEYS

    assert set(COMPONENTS["TaskSpec"]["properties"]) == TASK_SPEC_KEYS
    assert set(COMPONENTS["TaskUpdate"]["properties"]) == ALLOWED_UPDATE_KEYS
    assert check_object({"description": "d"}, "NewJob") == {"description": "d"}
    with pytest.raises(InvalidArgumentError, match="missing required key 'reservation_id'"):
        check_object({"agent_name": "a"}, "Reservation")
    with pytest.raises(InvalidArgumentError):
        check_array({"task_id": "t"}, "TaskSpec")


def test_haproxy_ingress_keeps_given_ports_and_picks_free_ones_otherwise() -> None:
    """HAProxy: both mode variables on, a port from the environment kept, a missing one picked."""
    chosen = ingress_environment("haproxy", {STATS_PORT_VARIABLE: "18404"})
    assert {k: chosen[k] for k in HAPROXY_INGRESS} == HAPROXY_INGRESS
    assert chosen[STATS_PORT_VARIABLE] == "18404"
    assert 0 < int(chosen[METRICS_PORT_VARIABLE]) < 65536


@pytest.mark.parametrize("ingress", ["haproxy", "proxy"])
def test_either_ingress_gives_a_starting_proxy_30_s_unless_told(ingress: str) -> None:
    """A proxy may take 30 s to report ready (Serve gives 5 s); a value already set wins."""
    assert ingress_environment(ingress, {})[PROXY_READY_VARIABLE] == "30"
    kept = ingress_environment(ingress, {PROXY_READY_VARIABLE: "90"})
    assert kept[PROXY_READY_VARIABLE] == "90"


def test_python_proxy_ingress_turns_the_mode_off_and_others_are_refused() -> None:
    """The Python proxy turns both variables off; an unknown ingress is an InvalidArgumentError."""
    chosen = ingress_environment("proxy", {})
    assert {k: chosen[k] for k in HAPROXY_INGRESS} == dict.fromkeys(HAPROXY_INGRESS, "0")
    assert set(chosen) == {*HAPROXY_INGRESS, PROXY_READY_VARIABLE}
    with pytest.raises(InvalidArgumentError) as caught:
        ingress_environment("nginx", {})
    assert (caught.value.field, caught.value.value) == ("ingress", "nginx")


class _LateRoutes(http.server.BaseHTTPRequestHandler):
    """Answers 404 to its first ``missing`` requests, then 200: an ingress learning a route."""

    missing = 0
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        self.send_response(404 if type(self).seen <= type(self).missing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.mark.parametrize(("missing", "routed"), [(0, True), (3, True), (10_000, False)])
def test_the_standalone_command_is_ready_only_once_its_page_is_routed(
    missing: int, routed: bool
) -> None:
    """'ready' waits while the ingress answers 404, and a route that never comes fails the start."""
    handler = type("Handler", (_LateRoutes,), {"missing": missing, "seen": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        if routed:
            _wait_until_routed("0.0.0.0", port, within=30)
            assert handler.seen == missing + 1
        else:
            with pytest.raises(StateUnavailable, match="did not route") as info:
                _wait_until_routed("127.0.0.1", port, within=1)
            assert info.value.field == "port" and info.value.value == port
    finally:
        server.shutdown()
        server.server_close()
