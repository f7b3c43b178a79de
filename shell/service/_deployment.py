"""The Ray Serve side: one FastAPI ingress deployment over a named store, and its builder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from shell.aio import AsyncStateStore
from shell.service._api import create_api
from shell.service._settings import ServiceSettings, service_settings

__all__ = ["StoreService", "app"]

# Every handler only awaits the store, so a replica can hold many requests at
# once; event streams in particular stay open for minutes. Serve's default
# (5) would make the sixth open page wait.
_MAX_ONGOING_REQUESTS = 1000


@serve.deployment(
    max_ongoing_requests=_MAX_ONGOING_REQUESTS,
    # A coordinator, like the store: it must not take a CPU the agents' tasks need.
    ray_actor_options={"num_cpus": 0},
)
@serve.ingress()
class StoreService:
    """The ingress deployment: connects to the store, then serves `create_api` over it.

    Args:
        settings: Which store, the token digests, the body limit.

    Raises:
        StateUnavailable: no store of that name in that namespace (the replica
            fails to start, and Serve says why).
    """

    # Serve awaits an ingress class's constructor, so it may await the store.
    async def __init__(self, settings: ServiceSettings) -> None:  # type: ignore[misc]
        self._store = await AsyncStateStore.connect(
            settings.store_name, settings.namespace, timeout=settings.timeout
        )
        self._api = create_api(self._store, settings)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return self._api


def app(args: Mapping[str, Any]) -> Application:
    """Serve application builder: ``serve run shell.service:app store_name=NAME namespace=NS``.

    Also ``serve.run(app({"store_name": NAME, "namespace": NS}))``. Tokens
    come from ``EAP_STATE_WRITE_TOKEN`` / ``EAP_STATE_READ_TOKEN`` or
    ``token_file=PATH`` where the builder runs; only their digests reach the replicas.

    Args:
        args: See `shell.service.service_settings`.

    Raises:
        InvalidArgumentError: a bad argument, or no tokens configured.
    """
    settings = service_settings(args)
    deployment: Any = StoreService
    return deployment.options(num_replicas=settings.num_replicas).bind(settings)  # type: ignore[no-any-return]
