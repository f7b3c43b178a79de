"""The JSON shapes of the API, as JSON Schema for ``/openapi.json``, and the body checks.

The request bodies are checked here only for their outer shape (an object
with these keys, or an array); what the values mean is checked by the
library itself, the same way for HTTP and Python callers, so no rule is
written twice. Money is a decimal string on the way out and a decimal
string or a number on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.batch_args import check_keys
from core.jobs.task_update import REQUIRED_UPDATE_KEYS
from shell.errors import InvalidArgumentError

__all__ = ["COMPONENTS", "check_array", "check_object", "ref"]

_MONEY_OUT = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "examples": ["12.50"]}
_MONEY_OR_NULL = {"anyOf": [_MONEY_OUT, {"type": "null"}], "description": "null: unlimited"}
_MONEY_IN = {
    "anyOf": [{"type": "string"}, {"type": "number", "minimum": 0}],
    "description": "an exact decimal string (preferred) or a number",
}
_NAME = {"type": "string", "minLength": 1}
_TIME = {"type": "number", "description": "epoch seconds"}
_TIME_OR_NULL = {"anyOf": [_TIME, {"type": "null"}]}
_COUNT = {"type": "integer", "minimum": 0}
_STATUS_COUNTS = {
    "type": "object",
    "properties": {key: _COUNT for key in ("pending", "running", "completed", "failed", "total")},
    "required": ["pending", "running", "completed", "failed", "total"],
}


def _object(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, **extra}


def _closed(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return _object(properties, required, additionalProperties=False)


#: Components of the OpenAPI document, by name.
COMPONENTS: dict[str, dict[str, Any]] = {
    "NewJob": _closed({"description": {"type": "string"}, "job_id": _NAME}, ["description"]),
    "TaskSpec": _closed(
        {
            "task_id": _NAME,
            "agent_name": _NAME,
            "input_data": {"description": "any JSON value"},
            "round": {"type": "integer", "minimum": 1, "default": 1},
        },
        sorted({"task_id", "agent_name"}),
    ),
    "TaskUpdate": _closed(
        {
            "task_id": _NAME,
            "status": {"type": "string", "enum": ["pending", "running", "completed", "failed"]},
            "result": {"description": "any JSON value, with status completed"},
            "error": {"type": ["string", "null"], "description": "with status failed"},
            "at": _TIME,
        },
        sorted(REQUIRED_UPDATE_KEYS),
    ),
    "Reservation": _closed(
        {"agent_name": _NAME, "reservation_id": _NAME}, ["agent_name", "reservation_id"]
    ),
    "CostRecord": _closed(
        {
            "agent_name": _NAME,
            "job_id": _NAME,
            "expected": _MONEY_IN,
            "actual": _MONEY_IN,
            "at": _TIME,
        },
        ["agent_name", "job_id", "expected", "actual"],
    ),
    "JobCreated": _object({"job_id": {"type": "string"}, "version": _COUNT}, ["job_id", "version"]),
    "Version": _object({"version": _COUNT}, ["version"]),
    "Recorded": _object({"recorded": _COUNT}, ["recorded"]),
    "JobList": _object(
        {
            "jobs": {
                "type": "array",
                "items": _object(
                    {"job_id": {"type": "string"}, "version": _COUNT}, ["job_id", "version"]
                ),
            }
        },
        ["jobs"],
    ),
    "JobSummary": _object(
        {
            "job_id": {"type": "string"},
            "description": {"type": "string"},
            "total_tasks": _COUNT,
            "pending_tasks": _COUNT,
            "running_tasks": _COUNT,
            "completed_tasks": _COUNT,
            "failed_tasks": _COUNT,
            "is_complete": {"type": "boolean"},
            "created_at": _TIME_OR_NULL,
            "completed_at": _TIME_OR_NULL,
            "duration": _TIME_OR_NULL,
            "rounds": {
                "type": "object",
                "description": "round number (as a string key) -> counts per status",
                "additionalProperties": _STATUS_COUNTS,
            },
        },
        ["job_id", "total_tasks", "is_complete", "rounds"],
    ),
    "ReservationDecision": _object(
        {
            "granted": {"type": "boolean"},
            "expected_cost": _MONEY_OUT,
            "reason": {"type": "string"},
        },
        ["granted", "expected_cost", "reason"],
    ),
    "BudgetSummary": _object(
        {
            "total_budget": _MONEY_OR_NULL,
            "total_spent": _MONEY_OUT,
            "total_reserved": _MONEY_OUT,
            "total_remaining": _MONEY_OR_NULL,
            "agents": {
                "type": "object",
                "additionalProperties": _object(
                    {
                        "spent": _MONEY_OUT,
                        "reserved": _MONEY_OUT,
                        "remaining": _MONEY_OR_NULL,
                        "limit": _MONEY_OR_NULL,
                        "expected_price": _MONEY_OUT,
                    },
                    ["spent", "reserved", "remaining", "limit", "expected_price"],
                ),
            },
            "cost_accuracy": {"type": ["string", "null"]},
            "recent_costs": {"type": "array", "items": {"type": "object"}},
        },
        ["total_budget", "total_spent", "total_reserved", "total_remaining", "agents"],
    ),
    "Problem": _object(
        {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "value": {"description": "the offending value (bounded)"},
            "index": {"type": ["integer", "null"]},
        },
        ["type", "title", "status", "detail"],
    ),
}


def ref(name: str) -> dict[str, str]:
    """Return a JSON Schema reference to a component."""
    return {"$ref": f"#/components/schemas/{name}"}


def check_object(body: Any, component: str) -> dict[str, Any]:
    """Check that a body is an object with the component's required keys and no others.

    Raises:
        InvalidArgumentError: field ``body`` (not an object) or the offending key.
    """
    schema = COMPONENTS[component]
    if not isinstance(body, Mapping):
        raise InvalidArgumentError(
            f"the request body must be a JSON object ({component}), got {type(body).__name__}",
            field="body",
        )
    data = dict(body)
    where = f"the request body ({component})"
    check_keys(
        data, frozenset(schema["properties"]), schema["required"], where, InvalidArgumentError
    )
    return data


def check_array(body: Any, component: str) -> list[Any]:
    """Check that a body is a JSON array (of ``component`` items, checked by the library).

    Raises:
        InvalidArgumentError: field ``body``, the body is not an array.
    """
    if not isinstance(body, list):
        raise InvalidArgumentError(
            f"the request body must be a JSON array of {component}, got {type(body).__name__}",
            field="body",
        )
    return body
