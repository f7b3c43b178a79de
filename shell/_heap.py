"""The store actor's process and Python's cyclic garbage collector.

Why this exists: the store's state is immutable, acyclic values, so the
cyclic collector never frees any of it, yet it pays to look. Every new
version of a job holds a new records vector, and the collector traverses
every element of a young container it scans: with the default threshold
(a young collection every 700 allocations, so every two or three batches
of 100 updates) each collection walks every task of the job being
updated. Measured with callgrind on a 40,000-task job, that was two thirds
of the instructions the actor spent on a batch of 100 updates.

So the actor's process collects its young generation after
`YOUNG_ALLOCATIONS` allocations instead: the same walk happens about a
hundred times less often. Cyclic garbage (Ray's own, an exception's
traceback) is still collected, a little later. The store's results never
depend on the collector; only the actor's own process is tuned, never a
caller's (StoreCore run in a test process leaves the collector alone).
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_ALLOCATIONS", "collect_young_rarely"]

#: Allocations (net of frees) between two young-generation collections in the store's process.
YOUNG_ALLOCATIONS = 50_000


def collect_young_rarely() -> None:
    """Set this process's young-generation threshold to `YOUNG_ALLOCATIONS`; O(1).

    The older generations keep their thresholds (relative to young collections).
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_ALLOCATIONS, middle, old)
