"""The OpenAPI document: every route's body, its replies and its problem statuses.

Handlers read their bodies themselves (so the library, not a second copy of
its rules, checks the values), so FastAPI cannot see the shapes: they are
declared here, from `shell.service._schemas`, once per operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shell.service._problems import PROBLEM_MEDIA_TYPE
from shell.service._schemas import COMPONENTS, ref

__all__ = ["OPERATIONS", "describe_api"]

_JSON = "application/json"
_STATUS_TEXT = {
    304: "Not modified: the job is still at the version given in If-None-Match",
    401: "No token, or a wrong one",
    403: "The read token on a write route",
    404: "No such job (or agent)",
    409: "Conflicts with what the store holds",
    413: "The request body is over the configured limit",
    422: "Invalid input",
    503: "The store cannot be reached; retry after Retry-After seconds",
}
_READ = (401, 422, 503)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the change's command id: a resend with it applies at most once",
    "schema": {"type": "string", "minLength": 1},
}
_WRITE = (401, 403, 413, 422, 503)


def _json(component: str, array: bool = False) -> dict[str, Any]:
    schema = {"type": "array", "items": ref(component)} if array else ref(component)
    return {"content": {_JSON: {"schema": schema}}}


def _stream(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


#: operation id -> (request body, success replies, problem statuses).
OPERATIONS: dict[str, tuple[dict[str, Any] | None, dict[int, dict[str, Any]], tuple[int, ...]]] = {
    "list_jobs": (None, {200: {"description": "The jobs", **_json("JobList")}}, _READ),
    "create_job": (
        _json("NewJob"),
        {201: {"description": "Created", **_json("JobCreated")}},
        (*_WRITE, 409),
    ),
    "add_tasks": (
        _json("TaskSpec", array=True),
        {200: {"description": "The job's new version", **_json("Version")}},
        (*_WRITE, 404, 409),
    ),
    "update_tasks": (
        _json("TaskUpdate", array=True),
        {200: {"description": "The job's new version", **_json("Version")}},
        (*_WRITE, 404, 409),
    ),
    "job_summary": (
        None,
        {200: {"description": "The job's summary", **_json("JobSummary")}, 304: {}},
        (*_READ, 404),
    ),
    "job_events": (
        None,
        {200: _stream("`summary` events (JobSummary), then `end` once the job is complete")},
        (*_READ, 404),
    ),
    "reserve": (
        _json("Reservation"),
        {200: {"description": "The decision", **_json("ReservationDecision")}},
        (*_WRITE, 404, 409),
    ),
    "record_costs": (
        _json("CostRecord", array=True),
        {200: {"description": "Recorded", **_json("Recorded")}},
        (*_WRITE, 409),
    ),
    "budget_summary": (None, {200: {"description": "The budget", **_json("BudgetSummary")}}, _READ),
    "budget_events": (None, {200: _stream("`summary` events (BudgetSummary)")}, _READ),
}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _STATUS_TEXT[status],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": ref("Problem")}},
    }


def _describe(document: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    schemas = document["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            spec = OPERATIONS.get(operation.get("operationId", "")) or extra.get(
                operation.get("operationId", "")
            )
            if spec is None:
                continue
            body, replies, problems = spec
            if body is not None:
                operation["requestBody"] = {"required": True, **body}
            if 403 in problems:  # a change: it may carry an idempotency key
                operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
            responses: dict[str, Any] = {}
            for status, reply in replies.items():
                responses[str(status)] = {"description": _STATUS_TEXT.get(status, "OK"), **reply}
            for status in problems:
                responses[str(status)] = _problem(status)
            operation["responses"] = responses
    return document


def describe_api(api: FastAPI, extra: dict[str, Any] | None = None) -> None:
    """Make ``api.openapi()`` describe every operation of `OPERATIONS` (and ``extra``)."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                summary=api.summary,
                description=api.description,
                routes=api.routes,
            )
            api.openapi_schema = _describe(document, extra or {})
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
