"""Ray shell of eap-state: the pure core's reducers applied to states held by Ray.

``from shell import StateManager, BudgetManager, StateCache, StateBatcher``.
Every error raised here is a `core.errors.StateError`; Ray failures arrive
as `StateUnavailable`.
"""

from core.calculator import BudgetCalculator
from core.errors import (
    BudgetError,
    DuplicateTaskError,
    InvalidTaskError,
    InvalidTransitionError,
    InvalidUpdateError,
    StateError,
    StateUnavailable,
    UnknownTaskError,
)
from shell.batcher import StateBatcher
from shell.cache import StateCache
from shell.managers import BudgetManager, StateManager
from shell.ray_ops import (
    InvalidArgumentError,
    ray_op_counts,
    reset_ray_op_counts,
    translate_ray_error,
    unwrap_ray_error,
)

# The concurrent-writer store (shell/store.py, issue 6) is exported here too:
# add `from shell.store import StateStore` above and "StateStore" below.

__all__ = [
    "BudgetCalculator",
    "BudgetError",
    "BudgetManager",
    "DuplicateTaskError",
    "InvalidArgumentError",
    "InvalidTaskError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "StateBatcher",
    "StateCache",
    "StateError",
    "StateManager",
    "StateUnavailable",
    "UnknownTaskError",
    "ray_op_counts",
    "reset_ray_op_counts",
    "translate_ray_error",
    "unwrap_ray_error",
]
