"""The demo's agents file: a budget, a job description and simulated agents, validated.

The file is TOML. ``[budget]`` and each ``[[agents]]``' ``name``, ``price``
and ``max_total_spend`` are the service's own config blocks and are checked
by the core (`core.budget.new_budget`); the ``[simulation]`` fields of an
agent (true mean cost, noise, failure rate, duration) drive the simulated
marketplace only. Every error names the file and the field.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from core.budget.money import to_money
from core.budget.reducers import new_budget
from core.errors import StateError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["AgentSpec", "ConfigError", "DemoConfig", "default_agents_file", "load_config"]

_TOP_KEYS = frozenset({"budget", "job", "agents"})
_JOB_KEYS = frozenset({"description"})
_AGENT_KEYS = frozenset(
    {"name", "price", "max_total_spend", "true_cost", "cost_noise", "failure_rate", "duration"}
)
_AGENT_REQUIRED = ("name", "price", "true_cost")


class ConfigError(StateError):
    """The agents file is missing, is not TOML, or a field has a bad value."""


@dataclass(frozen=True)
class AgentSpec:
    """One marketplace agent: its listed price and limit, and how it really behaves.

    Attributes:
        name: The agent's name.
        price: Listed price of one job (what the budget reserves at first).
        max_total_spend: Per-agent limit, or None for unlimited.
        true_cost: Mean actual cost of one job in the simulation.
        cost_noise: Relative standard deviation of the actual cost (0.1 is 10 %).
        failure_rate: Probability that a job fails (a failed job is billed 30 %).
        duration: ``(min, max)`` seconds a job takes at ``--speed 1``.
    """

    name: str
    price: Decimal
    max_total_spend: Decimal | None
    true_cost: Decimal
    cost_noise: float
    failure_rate: float
    duration: tuple[float, float]

    def budget_config(self) -> dict[str, Any]:
        """Return the agent's block as the budget expects it (exact amounts)."""
        return {"name": self.name, "price": self.price, "max_total_spend": self.max_total_spend}


@dataclass(frozen=True)
class DemoConfig:
    """A validated agents file.

    Attributes:
        source: Where it was read from, for messages.
        total_budget: The overall cap (never unlimited in the demo).
        description: The audience the job researches.
        agents: The agents, in file order.
    """

    source: str
    total_budget: Decimal
    description: str
    agents: tuple[AgentSpec, ...]

    def budget_config(self) -> dict[str, Any]:
        """Return the ``budget`` block for `BudgetManager.initialize_budget`."""
        return {"total_budget": self.total_budget}

    def agents_config(self) -> list[dict[str, Any]]:
        """Return the ``agents`` blocks for `BudgetManager.initialize_budget`."""
        return [agent.budget_config() for agent in self.agents]

    def agent(self, name: str) -> AgentSpec:
        """Return the agent called ``name``.

        Raises:
            ConfigError: no agent has that name.
        """
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise ConfigError(f"{self.source}: no agent named {name!r}", field="name", value=name)

    def with_budget(self, total_budget: Decimal) -> DemoConfig:
        """Return a copy with another total budget (``--budget``)."""
        return DemoConfig(self.source, total_budget, self.description, self.agents)


def default_agents_file() -> Path:
    """Return the path of the agents file shipped with the package."""
    return Path(str(resources.files("shell.demo").joinpath("agents.toml")))


def _fail(source: str, where: str, message: str, value: Any = None) -> ConfigError:
    return ConfigError(f"{source}: {where} {message}", field=where, value=value)


def _table(source: str, data: Any, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(source, where, f"must be a table, got {data!r}", data)
    for key in data:
        if key not in allowed:
            raise _fail(
                source,
                f"{where}.{key}",
                f"is not a known key (allowed: {', '.join(sorted(allowed))})",
                data[key],
            )
    return data


def _money(source: str, value: Any, where: str) -> Decimal:
    try:
        return to_money(value, where)
    except StateError:
        raise _fail(
            source, where, f'must be a non-negative amount such as "2.50", got {value!r}', value
        ) from None


def _fraction(source: str, value: Any, where: str, upper: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= upper
    ):
        raise _fail(source, where, f"must be a number from 0 to {upper}, got {value!r}", value)
    return float(value)


def _duration(source: str, value: Any, where: str) -> tuple[float, float]:
    ok = isinstance(value, list) and len(value) == 2
    if ok:
        ok = all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and 0 <= v <= 600 for v in value
        )
    if not ok or value[0] > value[1]:
        raise _fail(
            source, where, f"must be [min, max] seconds with 0 <= min <= max <= 600, got {value!r}"
        )
    return float(value[0]), float(value[1])


def _agent(source: str, raw: Any, index: int) -> AgentSpec:
    where = f"agents[{index}]"
    data = _table(source, raw, where, _AGENT_KEYS)
    for key in _AGENT_REQUIRED:
        if key not in data:
            raise _fail(source, f"{where}.{key}", "is required")
    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, f"{where}.name", f"must be a non-empty string, got {name!r}", name)
    limit = data.get("max_total_spend")
    return AgentSpec(
        name=name,
        price=_money(source, data["price"], f"{where}.price"),
        max_total_spend=None
        if limit is None
        else _money(source, limit, f"{where}.max_total_spend"),
        true_cost=_money(source, data["true_cost"], f"{where}.true_cost"),
        cost_noise=_fraction(source, data.get("cost_noise", 0.1), f"{where}.cost_noise", 1.0),
        failure_rate=_fraction(source, data.get("failure_rate", 0.0), f"{where}.failure_rate", 1.0),
        duration=_duration(source, data.get("duration", [0.5, 2.0]), f"{where}.duration"),
    )


def parse_config(data: Any, source: str) -> DemoConfig:
    """Validate the parsed TOML of an agents file.

    Args:
        data: The parsed document.
        source: Its name, for messages.

    Returns:
        The `DemoConfig`.

    Raises:
        ConfigError: a table or field is missing or invalid; the message names it.
    """
    top = _table(source, data, "file", _TOP_KEYS)
    budget = _table(source, top.get("budget"), "[budget]", frozenset({"total_budget"}))
    if "total_budget" not in budget:
        raise _fail(source, "budget.total_budget", "is required")
    total = _money(source, budget["total_budget"], "budget.total_budget")
    job = _table(source, top.get("job", {}), "[job]", _JOB_KEYS)
    description = job.get("description", "audience profile")
    if not isinstance(description, str) or not description.strip():
        raise _fail(source, "job.description", f"must be a non-empty string, got {description!r}")
    raw_agents = top.get("agents")
    if not isinstance(raw_agents, list) or not raw_agents:
        raise _fail(source, "agents", "must be a non-empty array of [[agents]] tables")
    agents = tuple(_agent(source, raw, i) for i, raw in enumerate(raw_agents))
    try:
        # The core has the last word on the budget blocks (duplicate names...).
        new_budget({"total_budget": total}, [a.budget_config() for a in agents])
    except StateError as err:
        raise ConfigError(f"{source}: {err}", field=err.field, value=err.value) from None
    return DemoConfig(source, total, description, agents)


def load_config(path: Path | None) -> DemoConfig:
    """Read and validate an agents file (the shipped default when ``path`` is None).

    Raises:
        ConfigError: the file cannot be read, is not TOML, or is invalid.
    """
    target = default_agents_file() if path is None else path
    source = str(target)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"{source}: cannot read agents file ({err.strerror or err})", field="agents_file"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML ({err})", field="agents_file") from None
    return parse_config(data, source)
