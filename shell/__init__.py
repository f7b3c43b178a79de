"""Ray shell of eap-state: the pure core's reducers applied to states held by Ray.

``from shell import StateManager, BudgetManager, StateCache, StateBatcher, StateStore``.
Every error raised here is a `core.errors.StateError`; Ray failures arrive
as `StateUnavailable` (also a `ConnectionError`), bad arguments as errors that
are also `ValueError`s.
"""

from core.budget.calculator import BudgetCalculator
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
from shell.aio import (
    AsyncBudgetManager,
    AsyncStateBatcher,
    AsyncStateCache,
    AsyncStateManager,
    AsyncStateStore,
)
from shell.batcher import StateBatcher
from shell.cache import StateCache
from shell.errors import (
    DuplicateJobError,
    InvalidArgumentError,
    JournalUnavailable,
    OutcomeUnknown,
    StateUnavailable,
    StoreExistsError,
    UnknownJobError,
    UnknownStoreError,
)
from shell.managers import BudgetManager, StateManager
from shell.ray_ops import (
    ray_op_counts,
    reset_ray_op_counts,
    translate_ray_error,
    unwrap_ray_error,
)
from shell.store import StateStore

__all__ = [
    "AsyncBudgetManager",
    "AsyncStateBatcher",
    "AsyncStateCache",
    "AsyncStateManager",
    "AsyncStateStore",
    "BudgetCalculator",
    "BudgetError",
    "BudgetManager",
    "CommandConflictError",
    "DuplicateJobError",
    "DuplicateTaskError",
    "InvalidArgumentError",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "JournalFormatError",
    "JournalUnavailable",
    "OutcomeUnknown",
    "StateBatcher",
    "StateCache",
    "StateError",
    "StateManager",
    "StateStore",
    "StateUnavailable",
    "StoreExistsError",
    "UnjournalableValueError",
    "UnknownJobError",
    "UnknownStoreError",
    "UnknownTaskError",
    "ray_op_counts",
    "reset_ray_op_counts",
    "translate_ray_error",
    "unwrap_ray_error",
]
