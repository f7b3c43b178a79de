"""eap-state's pure core: job and budget state as persistent values, and their reducers.

Nothing here touches Ray, a clock, randomness or I/O: timestamps come in as
arguments and every function returns a new value. ``import core`` works
where Ray is not installed.
"""

from core.batching import (
    PendingBatch,
    add_cost_record,
    add_task_update,
    apply_pending_cost_records,
    apply_pending_task_updates,
    drop_cost_records,
    drop_task_updates,
    empty_batch,
)
from core.budget.calculator import BudgetCalculator
from core.budget.money import to_money, to_optional_money
from core.budget.reducers import (
    AgentBudget,
    BudgetState,
    CostRecord,
    PricePolicy,
    Reservation,
    ReservationDecision,
    agent_remaining,
    new_budget,
    new_price_policy,
    record_cost,
    record_costs,
    release_reservation,
    reserve,
    total_remaining,
)
from core.budget.summary import summarize_budget
from core.errors import (
    BudgetError,
    CommandConflictError,
    DuplicateTaskError,
    InvalidTaskError,
    InvalidTransitionError,
    InvalidUpdateError,
    JournalFormatError,
    StateError,
    UnjournalableValueError,
    UnknownTaskError,
)
from core.frozen import FrozenDict, freeze, thaw
from core.jobs._table import TaskTable
from core.jobs.job import (
    JobExecution,
    add_task,
    add_tasks,
    is_job_complete,
    new_job,
    tasks_in_order,
)
from core.jobs.reducers import (
    TaskUpdate,
    TaskUpdates,
    UpdateColumns,
    apply_task_update,
    apply_task_updates,
    parse_update,
    to_update_columns,
)
from core.jobs.status import TaskStatus
from core.jobs.summary import job_failures, job_results, summarize_job
from core.jobs.task import TaskRecord, new_task
from core.ledger import Command, LedgerState, apply_command, open_ledger, recover_state, replay

__all__ = [
    "AgentBudget",
    "BudgetCalculator",
    "BudgetError",
    "BudgetState",
    "Command",
    "CommandConflictError",
    "CostRecord",
    "DuplicateTaskError",
    "FrozenDict",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "JobExecution",
    "JournalFormatError",
    "LedgerState",
    "PendingBatch",
    "PricePolicy",
    "Reservation",
    "ReservationDecision",
    "StateError",
    "TaskRecord",
    "TaskStatus",
    "TaskTable",
    "TaskUpdate",
    "TaskUpdates",
    "UnjournalableValueError",
    "UnknownTaskError",
    "UpdateColumns",
    "add_cost_record",
    "add_task",
    "add_task_update",
    "add_tasks",
    "agent_remaining",
    "apply_command",
    "apply_pending_cost_records",
    "apply_pending_task_updates",
    "apply_task_update",
    "apply_task_updates",
    "drop_cost_records",
    "drop_task_updates",
    "empty_batch",
    "freeze",
    "is_job_complete",
    "job_failures",
    "job_results",
    "new_budget",
    "new_job",
    "new_price_policy",
    "new_task",
    "open_ledger",
    "parse_update",
    "record_cost",
    "record_costs",
    "recover_state",
    "release_reservation",
    "replay",
    "reserve",
    "summarize_budget",
    "summarize_job",
    "tasks_in_order",
    "thaw",
    "to_money",
    "to_optional_money",
    "to_update_columns",
    "total_remaining",
]
