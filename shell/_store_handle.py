"""`StoreHandle`: how a store handle is made and named, written once for the sync and async twins.

`shell.store.StateStore` and `shell.aio.store.AsyncStateStore` take the same
arguments to `create`, `recover` and `connect`, validate them with the same
functions (`shell._store_lifecycle`) and name their store the same way; only
starting and reaching the actor differs (waiting, or awaiting). So the three
constructors are documented and written here, and each twin supplies
`StoreHandle._start` and `StoreHandle._connect`, which send.

Each constructor hands its twin a plan still to be made (``make_plan``): the
sync twin makes it at once, the async twin when its coroutine is awaited, so
``AsyncStateStore.create(...)`` stays a call that does nothing until awaited.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Generic, TypeVar

from core.errors import describe
from shell import _store_lifecycle as lifecycle

__all__ = ["StoreHandle"]

#: What a constructor returns: the handle itself (sync) or a coroutine giving it (async).
Started = TypeVar("Started")


class StoreHandle(ABC, Generic[Started]):
    """The part of a store handle that does not depend on how it waits for the actor."""

    def __init__(
        self, actor: Any, name: str | None, namespace: str | None, timeout: float | None
    ) -> None:
        self._actor = actor
        self._name = name
        self._namespace = namespace
        self._timeout = timeout
        self._closed = False
        self._description = self._named()

    @classmethod
    @abstractmethod
    def _start(cls, make_plan: Callable[[], lifecycle.StorePlan]) -> Started:
        """Start the actor of the plan ``make_plan()`` validates, and reach it.

        A start that fails after the actor was started kills it again.
        """

    @classmethod
    @abstractmethod
    def _connect(cls, make_connection: Callable[[], lifecycle.StoreConnection]) -> Started:
        """Find the running store ``make_connection()`` names and check that it is one."""

    @classmethod
    def create(
        cls,
        budget_config: Mapping[str, Any] | None,
        agents_config: Iterable[Mapping[str, Any]],
        name: str | None = None,
        namespace: str | None = None,
        detached: bool = False,
        timeout: float | None = None,
        journal: str | None = None,
        snapshot_every: int = 1000,
        actor_options: Mapping[str, Any] | None = None,
        group_commit: bool = False,
    ) -> Started:
        """Start a store actor and return a handle on it (``await`` it on `AsyncStateStore`).

        Everything is validated first (the configs with the core), so a bad
        argument raises at once and no actor is started; a start that fails
        later (e.g. times out) kills the actor it started.

        Args:
            budget_config: ``{"total_budget": X}`` or None (unlimited).
            agents_config: Agent blocks ``{"name", "price", "max_total_spend"}``.
            name: Register the actor under this name, for `connect` (and key the
                journal's rows by it: a journaled store needs one).
            namespace: Ray namespace of the name; None is the job's own.
            detached: Keep the actor alive after this driver exits (needs ``name``);
                it then lives until `shutdown` or the cluster stops.
            timeout: Seconds each call may wait for the actor (at most
                `shell._store_lifecycle.MAX_TIMEOUT`); None waits for ever.
            journal: ``"sqlite:///abs/path.db"`` (``?synchronous=normal`` trades
                power-loss safety for speed) or ``"postgresql://..."``: the store
                becomes durable and restarts after a crash. None keeps it in memory.
            snapshot_every: With a journal, write a snapshot every this many commands.
            group_commit: With a journal, run calls on several threads so that
                separate callers' commands arriving during a commit share the
                next one. Worth it when a commit costs more than a call
                (PostgreSQL over a network, a slow disk); on a fast local disk
                the threads cost more than they save. Without it each call
                commits its own commands (a batch, a handle's coalesced calls).
            actor_options: More Ray actor options, e.g. ``resources`` or
                ``scheduling_strategy`` to place the store (not its name,
                lifetime, restarts, retries or concurrency, which the store sets).

        Raises:
            BudgetError: a config is invalid.
            InvalidArgumentError: another argument is invalid.
            StoreExistsError: ``name`` is already taken in ``namespace``, or the
                journal already holds a store of that name (use `recover`).
            StateUnavailable: Ray could not start the actor, or the journal is unreachable.
        """
        return cls._start(
            partial(
                lifecycle.create_plan,
                budget_config,
                agents_config,
                name,
                namespace,
                detached,
                timeout,
                journal,
                snapshot_every,
                actor_options,
                group_commit,
            )
        )

    @classmethod
    def recover(
        cls,
        name: str,
        journal: str,
        namespace: str | None = None,
        detached: bool = False,
        timeout: float | None = None,
        snapshot_every: int = 1000,
        actor_options: Mapping[str, Any] | None = None,
        group_commit: bool = False,
    ) -> Started:
        """Start a journaled store again from its journal (e.g. after the whole cluster stopped).

        The new actor loads the newest good snapshot and replays the commands
        after it; its state, versions and budget are those of the last
        acknowledged command. Arguments are as for `create`.

        Raises:
            UnknownStoreError: the journal holds no store named ``name``.
            StoreExistsError: a live actor already has ``name`` (connect to it instead).
            JournalFormatError: the journal is corrupt or written by a newer version.
            InvalidArgumentError, StateUnavailable: as for `create`.
        """
        return cls._start(
            partial(
                lifecycle.recover_plan,
                name,
                journal,
                namespace,
                detached,
                timeout,
                snapshot_every,
                actor_options,
                group_commit,
            )
        )

    @classmethod
    def connect(
        cls, name: str, namespace: str | None = None, timeout: float | None = None
    ) -> Started:
        """Return a handle on a running named store.

        Args:
            name: The name it was created with.
            namespace: Its Ray namespace; None is this job's own.
            timeout: Seconds each call may wait for the actor; None waits for ever.

        Raises:
            InvalidArgumentError: ``name``, ``namespace`` or ``timeout`` is invalid.
            StateUnavailable: no live actor has that name, or it is not a store (naming it).
        """
        return cls._connect(partial(lifecycle.connect_plan, name, namespace, timeout))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()}{', shut down' if self._closed else ''})"

    def _describe(self) -> str:
        """The store as errors and ``repr`` name it. O(1): written once, by `_named`."""
        return self._description

    def _named(self) -> str:
        if self._name is not None:
            return f"store {describe(self._name)} (namespace {describe(self._namespace)})"
        actor_id = getattr(self._actor, "_actor_id", None)  # Ray has no public accessor
        return f"unnamed store {actor_id.hex() if actor_id is not None else '?'}"
