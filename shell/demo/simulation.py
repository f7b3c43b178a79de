"""The simulated marketplace: an agent job is a Ray task that takes a while and bills a cost.

Every draw comes from a generator seeded with ``(seed, task_id)``, so a job's
duration, cost and success are the same on every run with the same seed,
whatever order Ray happens to run the jobs in.
"""

from __future__ import annotations

import random
import time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

import ray

from shell.demo.config import AgentSpec

__all__ = ["FAILED_BILLING_SHARE", "Outcome", "draw_outcome", "run_agent_job"]

#: A failed job is still billed this share of what it would have cost (time used).
FAILED_BILLING_SHARE = Decimal("0.30")
_CENT = Decimal("0.01")

_FINDINGS = (
    "prefers short-form video over long reads",
    "responds to price-transparency messaging",
    "follows local community groups more than brands",
    "researches purchases on forums before buying",
    "shares content mostly in private group chats",
    "trusts peer reviews over influencer posts",
    "engages most on weekday mornings",
    "is sensitive to sustainability claims",
)


class Outcome(NamedTuple):
    """What one simulated agent job did.

    Attributes:
        task_id: The task it ran.
        agent_name: The agent that ran it.
        duration: Simulated seconds at ``--speed 1``.
        ok: Whether it completed (False: it failed).
        cost: What the agent billed, exact to the cent.
        result: The finding, for a completed job.
        error: Why it failed, for a failed job.
    """

    task_id: str
    agent_name: str
    duration: float
    ok: bool
    cost: Decimal
    result: dict[str, Any] | None
    error: str | None

    @property
    def status(self) -> str:
        """The task status that reports it: ``"completed"`` or ``"failed"``."""
        return "completed" if self.ok else "failed"


def draw_outcome(seed: int, task_id: str, agent: AgentSpec) -> Outcome:
    """Return the outcome of one job, a pure function of the seed, the task and the agent.

    Args:
        seed: The run's ``--seed``.
        task_id: The task, which seeds its own generator.
        agent: The agent's simulated behaviour.

    Returns:
        The `Outcome`; its cost is ``true_cost * (1 + noise * N(0, 1))``,
        at least 0, and ``FAILED_BILLING_SHARE`` of that when the job fails.
    """
    rng = random.Random(f"{seed}:{task_id}")
    low, high = agent.duration
    duration = rng.uniform(low, high)
    factor = max(0.0, 1.0 + agent.cost_noise * rng.gauss(0.0, 1.0))
    cost = (agent.true_cost * Decimal(repr(round(factor, 6)))).quantize(_CENT, ROUND_HALF_EVEN)
    failed = rng.random() < agent.failure_rate
    if failed:
        billed = (cost * FAILED_BILLING_SHARE).quantize(_CENT, ROUND_HALF_EVEN)
        return Outcome(task_id, agent.name, duration, False, billed, None, "agent timed out")
    result = {
        "finding": rng.choice(_FINDINGS),
        "confidence": round(rng.uniform(0.5, 0.95), 2),
        "sources": rng.randint(3, 40),
    }
    return Outcome(task_id, agent.name, duration, True, cost, result, None)


@ray.remote(num_cpus=0.25, max_retries=0)
def run_agent_job(seed: int, task_id: str, agent: AgentSpec, speed: float) -> Outcome:
    """Play one agent job: wait its simulated duration times ``speed``, then report.

    Args:
        seed: The run's seed.
        task_id: The task.
        agent: The agent's simulated behaviour.
        speed: Multiplier of simulated durations (0.1 runs ten times faster).

    Returns:
        The job's `Outcome`.
    """
    outcome = draw_outcome(seed, task_id, agent)
    time.sleep(outcome.duration * speed)
    return outcome
