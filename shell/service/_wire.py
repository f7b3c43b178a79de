"""What crosses the wire: JSON out (money as exact decimal strings), JSON in, and its size.

Money leaves as a decimal string (``"12.50"``), never a float, so no client
ever sees ``0.30000000000000004``. Request bodies are read here with a hard
cap, so an oversized body is refused (413) before a byte of it is parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse, Response

from shell.errors import InvalidArgumentError
from shell.service._problems import PROBLEM_MEDIA_TYPE, BodyTooLargeError, error_problem

__all__ = ["BodyLimit", "JSONBody", "dumps", "read_json", "too_large"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """Encode a summary or reply as compact UTF-8 JSON; `Decimal` becomes an exact string."""
    return json.dumps(value, default=_plain, allow_nan=False, separators=(",", ":")).encode()


class JSONBody(JSONResponse):
    """A JSON response encoded with `dumps` (money as exact decimal strings)."""

    def render(self, content: Any) -> bytes:
        """Encode the content with `dumps`."""
        return dumps(content)


def too_large(limit: int) -> Response:
    """Return the 413 problem response for a body over ``limit`` bytes."""
    _, body = error_problem(_too_large_error(limit))
    return Response(dumps(body), status_code=413, media_type=PROBLEM_MEDIA_TYPE)


def _too_large_error(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(
        f"the request body is larger than the limit of {limit} bytes", field="body", value=limit
    )


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets 413 before the app reads any of it.

    A declared ``Content-Length`` over the limit is refused at once; a body
    sent without one (chunked) is counted as it arrives and refused when it
    passes the limit, before the app sees the message that passed it. O(1)
    per message.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call, refusing an oversized body."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self._limit):
                await too_large(self._limit)(scope, receive, send)
                return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._limit:
                    raise _too_large_error(self._limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted_receive, watched_send)
        except BodyTooLargeError:
            if not started:
                await too_large(self._limit)(scope, receive, send)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# A \uD800-\uDFFF escape in the raw text; only then can a lone surrogate be in it.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """True if a str in the parsed value is not Unicode text (a lone surrogate); O(size)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def read_json(body: bytes) -> Any:
    """Parse a request body as JSON text.

    ``NaN`` and ``Infinity`` are not JSON, and a lone surrogate escape
    (``"\\ud800"``) is not Unicode text: both are refused, so every id and
    description the store keeps can be written back out, in a header or a log.

    Raises:
        InvalidArgumentError: the body is not UTF-8 JSON text (field ``body``).
    """
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InvalidArgumentError(
            f"the request body is not valid JSON: {err.__class__.__name__}",
            field="body",
        ) from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(value):
        raise InvalidArgumentError(
            "the request body holds a lone surrogate escape (\\ud800-\\udfff), not Unicode text",
            field="body",
        )
    return value
