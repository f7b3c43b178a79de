"""Planning the demo's rounds: which agent runs which task, priced and trimmed by the core.

Round 1 spreads the requested tasks over every agent. Round 2 (refinement)
asks for half as many jobs again from the agents that delivered in round 1,
then lets `BudgetCalculator` price the wish, advise on it and say how many
jobs each agent can still afford; the plan keeps only what fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.budget.calculator import BudgetCalculator
from core.budget.reducers import BudgetState, total_remaining
from shell.demo.config import DemoConfig

__all__ = ["PlannedTask", "RoundPlan", "plan_first_round", "plan_refinement"]

_QUESTIONS = (
    "Which channels does this audience use to discover products?",
    "What motivates this audience to switch brands?",
    "Which price points does this audience accept?",
    "Which communities does this audience trust?",
)


@dataclass(frozen=True)
class PlannedTask:
    """One job to reserve for and submit.

    Attributes:
        task_id: Unique within the job; also the reservation id and the cost record's job id.
        agent_name: The agent to hire.
        round: 1 for research, 2 for refinement.
        question: What the agent is asked.
    """

    task_id: str
    agent_name: str
    round: int
    question: str

    def spec(self, description: str) -> dict[str, Any]:
        """Return the task mapping `StateManager.add_agent_tasks` takes."""
        return {
            "task_id": self.task_id,
            "agent_name": self.agent_name,
            "round": self.round,
            "input_data": {"audience": description, "question": self.question},
        }


@dataclass
class RoundPlan:
    """A round's plan and, for a refinement round, how the core priced it.

    Attributes:
        round: The round number.
        tasks: The jobs to run, in submission order.
        wished: Jobs per agent asked for before the budget was consulted.
        remaining_before: Total budget left when the plan was made.
        projected_wish: `BudgetCalculator.project_total_cost` of ``wished``.
        projected_cost: The same for the plan kept.
        recommendations: `BudgetCalculator.get_budget_recommendations` on ``wished``.
    """

    round: int
    tasks: list[PlannedTask]
    wished: dict[str, int] = field(default_factory=dict)
    remaining_before: Decimal | None = None
    projected_wish: Decimal | None = None
    projected_cost: Decimal | None = None
    recommendations: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the number of planned jobs per agent."""
        per_agent: dict[str, int] = {}
        for task in self.tasks:
            per_agent[task.agent_name] = per_agent.get(task.agent_name, 0) + 1
        return per_agent


def _tasks(round_no: int, agents: Sequence[str], counts: dict[str, int]) -> list[PlannedTask]:
    """Interleave the agents' jobs round-robin so no agent waits for another's whole share."""
    left = dict(counts)
    tasks: list[PlannedTask] = []
    while any(left.values()):
        for name in agents:
            if left.get(name, 0) > 0:
                left[name] -= 1
                index = len(tasks)
                tasks.append(
                    PlannedTask(
                        f"r{round_no}-{index:04d}-{name}",
                        name,
                        round_no,
                        _QUESTIONS[index % len(_QUESTIONS)],
                    )
                )
    return tasks


def plan_first_round(config: DemoConfig, tasks: int) -> RoundPlan:
    """Spread ``tasks`` jobs over the agents in file order.

    Args:
        config: The validated agents file.
        tasks: Number of jobs, >= 1.

    Returns:
        The round-1 plan (reservations decide what actually runs).
    """
    names = [agent.name for agent in config.agents]
    counts = {
        name: tasks // len(names) + (1 if i < tasks % len(names) else 0)
        for i, name in enumerate(names)
    }
    return RoundPlan(1, _tasks(1, names, counts), wished=dict(counts))


def plan_refinement(
    state: BudgetState, completed_by_agent: dict[str, int], wanted: int
) -> RoundPlan:
    """Plan round 2 within what is left, as the core prices and advises.

    Args:
        state: The budget after round 1.
        completed_by_agent: Round-1 completed jobs per agent.
        wanted: Jobs wished for before looking at the budget.

    Returns:
        The round-2 plan: the wish spread over the agents that completed
        most (cheapest first among equals), each cut to
        `BudgetCalculator.affordable_jobs`, then the dearest jobs dropped
        until `BudgetCalculator.project_total_cost` fits the total remaining.
    """
    delivered = [name for name, done in completed_by_agent.items() if done > 0]
    ranked = sorted(
        delivered or list(state.agents),
        key=lambda n: (-completed_by_agent.get(n, 0), state.agents[n].expected_price, n),
    )
    wish = {name: 0 for name in ranked}
    for i in range(wanted):
        wish[ranked[i % len(ranked)]] += 1
    wish = {name: n for name, n in wish.items() if n}

    def as_plan(counts: dict[str, int]) -> list[dict[str, Any]]:
        return [{"agent_name": name, "count": n} for name, n in counts.items() if n]

    recommendations = BudgetCalculator.get_budget_recommendations(state, as_plan(wish))
    keep = {}
    for name, n in wish.items():
        affordable = BudgetCalculator.affordable_jobs(state, name)
        keep[name] = n if affordable is None else min(n, affordable)
    remaining = total_remaining(state)
    if remaining is not None:
        by_price = sorted(keep, key=lambda n: (-state.agents[n].expected_price, n))
        while (
            any(keep.values())
            and BudgetCalculator.project_total_cost(as_plan(keep), state) > remaining
        ):
            dearest = next(name for name in by_price if keep[name] > 0)
            keep[dearest] -= 1
    return RoundPlan(
        2,
        _tasks(2, ranked, keep),
        wished=wish,
        remaining_before=remaining,
        projected_wish=BudgetCalculator.project_total_cost(as_plan(wish), state),
        projected_cost=BudgetCalculator.project_total_cost(as_plan(keep), state),
        recommendations=recommendations,
    )
