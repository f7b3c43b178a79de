"""``python -m shell.service``: a standalone run from an agents file, and its refusals."""

from __future__ import annotations

import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import free_port

from shell.service._ingress import METRICS_PORT_VARIABLE, STATS_PORT_VARIABLE
from shell.service._standalone import load_agents_file, main

ROOT = Path(__file__).resolve().parents[2]
DEMO_AGENTS = ROOT / "shell" / "demo" / "agents.toml"


def test_agents_file_keeps_the_budget_blocks_of_the_demo_file() -> None:
    """The demo's agents file loads: budget and each agent's name, price and limit only."""
    budget, agents = load_agents_file(DEMO_AGENTS)
    assert budget == {"total_budget": "60.00"}
    assert agents[0] == {"name": "survey-panel", "price": "2.50", "max_total_spend": "20.00"}
    assert all(set(a) <= {"name", "price", "max_total_spend"} for a in agents)


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        ([], {}, "EAP_STATE_WRITE_TOKEN"),
        (["--budget", "-5"], {"w": "w" * 20, "r": "r" * 20}, "total_budget"),
        (["--agents-file", "/nonexistent.toml"], {"w": "w" * 20, "r": "r" * 20}, "agents file"),
        (["--address", "auto", "--ingress", "proxy"], {"w": "w" * 20, "r": "r" * 20}, "--ingress"),
        (["--group-commit"], {"w": "w" * 20, "r": "r" * 20}, "--group-commit needs --journal"),
    ],
)
def test_bad_configuration_exits_2_before_ray_starts(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    """No tokens, bad budget, missing file, a misplaced ingress or group commit: exit 2, no Ray."""
    monkeypatch.delenv("EAP_STATE_WRITE_TOKEN", raising=False)
    monkeypatch.delenv("EAP_STATE_READ_TOKEN", raising=False)
    if env:
        monkeypatch.setenv("EAP_STATE_WRITE_TOKEN", env["w"])
        monkeypatch.setenv("EAP_STATE_READ_TOKEN", env["r"])
    assert main(["--agents-file", str(DEMO_AGENTS), *extra]) == 2
    assert message in capsys.readouterr().err


def _wait_until_ready(process: subprocess.Popen[str], log: Path, within: float = 180.0) -> None:
    """Read the service's stdout up to its "ready at" line; fail with its stderr if none comes.

    Ray may print its own lines (a raylet's warning) to the driver's stdout
    before the service's, so the first line is not always the one awaited.
    """
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.put(line)
            if "ready at" in line:
                return
        lines.put(None)  # stdout closed: the process is ending

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + within
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            process.wait(timeout=60)  # let it finish writing why
            break
        if "ready at" in line:
            return
        seen.append(line)
    status = process.poll()
    why = f"exited with status {status}" if status is not None else f"not in {within:.0f} s"
    pytest.fail(
        f"the service was not ready ({why}); stdout: {seen!r}; stderr:\n{log.read_text()[-6000:]}"
    )


@pytest.mark.parametrize(
    ("ingress", "journaled"), [("haproxy", False), ("proxy", False), ("haproxy", True)]
)
def test_standalone_run_serves_the_store_until_interrupted(
    tmp_path: Path, ingress: str, journaled: bool
) -> None:
    """Either ingress, a journaled group-commit store too: it starts, answers, stops on SIGINT."""
    port, stats_port = free_port(), free_port()
    read_token = secrets.token_urlsafe(24)
    # Not the session's HAProxy ports: the stats port is given, the metrics port left
    # for the command to pick, as for a second service on one host.
    env = {k: v for k, v in os.environ.items() if k != METRICS_PORT_VARIABLE}
    env[STATS_PORT_VARIABLE] = str(stats_port)
    env["EAP_STATE_WRITE_TOKEN"] = secrets.token_urlsafe(24)
    env["EAP_STATE_READ_TOKEN"] = read_token
    command = [sys.executable, "-m", "shell.service", "--agents-file", str(DEMO_AGENTS)]
    command += ["--budget", "12.5", "--port", str(port), "--name", f"standalone-{port}"]
    command += ["--ingress", ingress]
    if journaled:
        command += ["--journal", f"sqlite:///{tmp_path / 'journal.db'}", "--group-commit"]
    log = tmp_path / "stderr"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        _wait_until_ready(process, log)
        reply = httpx.get(
            f"http://127.0.0.1:{port}/budget",
            headers={"Authorization": f"Bearer {read_token}"},
            timeout=30,
        )
        assert reply.status_code == 200
        assert reply.json()["total_budget"] == "12.5"
        assert read_token not in " ".join(command)
        # HAProxy's stats page answers only when HAProxy is the ingress.
        try:
            stats = httpx.get(f"http://127.0.0.1:{stats_port}/stats", timeout=10).status_code
        except httpx.TransportError:
            stats = None
        assert (stats == 200) is (ingress == "haproxy")
    finally:
        process.send_signal(2)
        assert process.wait(timeout=60) == 0
