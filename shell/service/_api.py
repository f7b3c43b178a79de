"""The FastAPI app over one `AsyncStateStore`: the JSON routes, the event streams, the page.

Every handler awaits the store and never blocks the event loop. Every
library error becomes ``application/problem+json`` (`shell.service._problems`);
anything else is a bug of ours and a bare 500 that says nothing about it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response, StreamingResponse

from core.errors import StateError
from shell._store_sending import new_command_id
from shell.aio import AsyncStateStore
from shell.service._access import AccessDenied, guards
from shell.service._events import EVENT_STREAM, summary_events
from shell.service._openapi import describe_api
from shell.service._page import PAGE_OPERATIONS, add_page_routes
from shell.service._problems import (
    PROBLEM_MEDIA_TYPE,
    RETRY_AFTER_SECONDS,
    UnknownAgentError,
    error_problem,
    problem_body,
)
from shell.service._schemas import check_array, check_object
from shell.service._settings import ServiceSettings
from shell.service._wire import BodyLimit, JSONBody, dumps, read_json

__all__ = ["FIRST_VERSION", "create_api"]

_log = logging.getLogger("shell.service")

#: A new job's version: the store's versions start at 1 (`StateStore.poll_job`).
FIRST_VERSION = 1
_JOB_ID = Path(description="the job's id", min_length=1)


def _problem_response(status: int, body: dict[str, Any]) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _etag(version: int) -> str:
    return f'"{version}"'


def _since_version(if_none_match: str | None) -> tuple[int | None, bool]:
    """Parse ``If-None-Match``: ``(version to compare, matches anything)``.

    Only our own ETags (a quoted version) can match; anything else is ignored.
    """
    if not if_none_match:
        return None, False
    if if_none_match.strip() == "*":
        return None, True
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/")
        if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit() and len(tag) < 24:
            return int(tag[1:-1]), False
    return None, False


async def _body(request: Request) -> Any:
    return read_json(await request.body())


def _command_id(request: Request) -> str | None:
    """The ``Idempotency-Key`` header: the store's ``command_id`` of this change.

    A change resent with the same key is applied at most once and answered
    with the first reply; the same key with another body is a 409.

    Raises:
        InvalidArgumentError: an empty key (field ``command_id``).
    """
    key = request.headers.get("idempotency-key")
    # Checked here, as the store would, even for a change that sends nothing (no records).
    return None if key is None else new_command_id(key)


def create_api(store: AsyncStateStore, settings: ServiceSettings) -> FastAPI:
    """Return the ASGI app serving ``store`` with ``settings`` (tokens, body limit...).

    The app is wrapped in `shell.service._wire.BodyLimit`, so an oversized
    body is refused before any route reads it.
    """
    api = FastAPI(
        title="eap-state",
        summary="Jobs, tasks and the budget of one eap-state store, over HTTP",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    can_read, can_write = guards(settings.tokens)
    known_agents: set[str] = set()

    @api.exception_handler(StateError)
    async def on_state_error(request: Request, err: StateError) -> Response:
        if isinstance(err, AccessDenied):
            return _problem_response(
                err.status,
                problem_body(err.status, "AccessDenied", err.message, field="authorization"),
            )
        status, body = error_problem(err)
        return _problem_response(status, body)

    @api.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        where = [str(part) for part in first.get("loc", ()) if part != "path"]
        body = problem_body(
            422,
            "InvalidArgumentError",
            str(first.get("msg", "invalid request")),
            field=".".join(where) or None,
            value=first.get("input"),
        )
        return _problem_response(422, body)

    @api.exception_handler(HTTPException)
    async def on_http_error(request: Request, err: HTTPException) -> Response:
        body = problem_body(err.status_code, "HTTPError", str(err.detail))
        response = _problem_response(err.status_code, body)
        response.headers.update(err.headers or {})
        return response

    @api.exception_handler(Exception)
    async def on_bug(request: Request, err: Exception) -> Response:
        # Our bug, not the client's: log it here, and tell the client nothing about it.
        _log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        body = problem_body(500, "InternalError", "an unexpected error; it has been logged")
        return _problem_response(500, body)

    @api.get("/jobs", dependencies=[can_read], operation_id="list_jobs")
    async def list_jobs() -> Response:
        """List every job of the store with its version, sorted by job id."""
        versions = await store.list_jobs()
        jobs = [{"job_id": job_id, "version": version} for job_id, version in versions.items()]
        return JSONBody({"jobs": jobs})

    @api.post("/jobs", dependencies=[can_write], status_code=201, operation_id="create_job")
    async def create_job(request: Request) -> Response:
        """Create an empty job (a fresh id when ``job_id`` is not given)."""
        body = check_object(await _body(request), "NewJob")
        job_id = await store.create_job(
            body["description"], body.get("job_id"), command_id=_command_id(request)
        )
        return JSONBody(
            {"job_id": job_id, "version": FIRST_VERSION},
            status_code=201,
            headers={"Location": f"/jobs/{quote(job_id, safe='')}", "ETag": _etag(FIRST_VERSION)},
        )

    @api.post("/jobs/{job_id}/tasks", dependencies=[can_write], operation_id="add_tasks")
    async def add_tasks(request: Request, job_id: str = _JOB_ID) -> Response:
        """Append tasks to a job, all or none."""
        tasks = check_array(await _body(request), "TaskSpec")
        version = await store.add_tasks(job_id, tasks, command_id=_command_id(request))
        return JSONBody({"version": version}, headers={"ETag": _etag(version)})

    @api.post("/jobs/{job_id}/updates", dependencies=[can_write], operation_id="update_tasks")
    async def update_tasks(request: Request, job_id: str = _JOB_ID) -> Response:
        """Apply a batch of task updates in order, as one atomic batch (all or none)."""
        updates = check_array(await _body(request), "TaskUpdate")
        version = await store.update_tasks(job_id, updates, command_id=_command_id(request))
        return JSONBody({"version": version}, headers={"ETag": _etag(version)})

    @api.get("/jobs/{job_id}", dependencies=[can_read], operation_id="job_summary")
    async def job_summary(request: Request, job_id: str = _JOB_ID) -> Response:
        """Return the job's summary; ``ETag`` is its version, and ``If-None-Match`` gives 304."""
        since, any_matches = _since_version(request.headers.get("if-none-match"))
        version, summary = await store.poll_job(job_id, since)
        headers = {"ETag": _etag(version), "Cache-Control": "no-cache"}
        if summary is None or any_matches:
            return Response(status_code=304, headers=headers)
        return JSONBody(summary, headers=headers)

    @api.get("/jobs/{job_id}/events", dependencies=[can_read], operation_id="job_events")
    async def job_events(job_id: str = _JOB_ID) -> Response:
        """Stream the job's summary now and after every change; end once it is complete."""
        return _stream(await summary_events(store.watch_job(job_id)))

    @api.post("/budget/reservations", dependencies=[can_write], operation_id="reserve")
    async def reserve(request: Request) -> Response:
        """Reserve one job's expected cost for a known agent, idempotently by ``reservation_id``."""
        body = check_object(await _body(request), "Reservation")
        agent_name = body["agent_name"]
        if isinstance(agent_name, str) and agent_name not in known_agents:
            # Agents are never removed, so a name seen once stays known.
            known_agents.update((await store.budget_summary())["agents"])
            if agent_name not in known_agents:
                raise UnknownAgentError(
                    f"agent_name {agent_name!r} is not an agent of this store's budget",
                    field="agent_name",
                    value=agent_name,
                )
        decision = await store.reserve(
            agent_name, None, body["reservation_id"], command_id=_command_id(request)
        )
        return JSONBody(
            {
                "granted": decision.can_afford,
                "expected_cost": decision.expected_cost,
                "reason": decision.reason,
            }
        )

    @api.post("/budget/costs", dependencies=[can_write], operation_id="record_costs")
    async def record_costs(request: Request) -> Response:
        """Record paid jobs, all or none, idempotently by ``job_id``."""
        records = check_array(await _body(request), "CostRecord")
        await store.record_costs(records, command_id=_command_id(request))
        return JSONBody({"recorded": len(records)})

    @api.get("/budget", dependencies=[can_read], operation_id="budget_summary")
    async def budget_summary() -> Response:
        """Return the budget summary (money as exact decimal strings)."""
        return JSONBody(await store.budget_summary())

    @api.get("/budget/events", dependencies=[can_read], operation_id="budget_events")
    async def budget_events() -> Response:
        """Stream the budget summary now and after every change, until the client leaves."""
        return _stream(await summary_events(store.watch_budget()))

    add_page_routes(api, settings)
    describe_api(api, PAGE_OPERATIONS)
    api.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return api


def _stream(events: Any) -> Response:
    return StreamingResponse(
        events,
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
