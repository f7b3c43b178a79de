"""The live page: ``GET /`` (or the sign-in form), and the session it runs on.

The page is one HTML file with its script and style inline, fetching
nothing from elsewhere; a Content-Security-Policy allows exactly that
script and style (by hash) and connections to this origin only. It signs in
once with the read token, which `POST /session` trades for an HttpOnly,
SameSite=Strict session cookie, since an ``EventSource`` cannot send a header.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import time
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response

from shell.service._access import SESSION_COOKIE, request_access
from shell.service._settings import ServiceSettings
from shell.service._tokens import Access
from shell.service._wire import read_json

__all__ = ["PAGE_OPERATIONS", "add_page_routes"]

_HTML = "text/html"


def _read(name: str) -> str:
    return resources.files("shell.service").joinpath(name).read_text(encoding="utf-8")


def _policy(page: str) -> str:
    """Return a CSP that allows only this page's own inline script and style."""

    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
            for b in bodies
        )

    return (
        f"default-src 'none'; script-src {hashes('script') or chr(39) + 'none' + chr(39)}; "
        f"style-src {hashes('style')}; connect-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _html_reply(page: str, status: int, **headers: str) -> Response:
    return HTMLResponse(
        page,
        status_code=status,
        headers={
            "Content-Security-Policy": _policy(page),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            **headers,
        },
    )


#: OpenAPI descriptions of the page's operations, in `shell.service._openapi`'s form.
PAGE_OPERATIONS: dict[str, Any] = {
    "page": (
        None,
        {
            200: {
                "description": "The live page",
                "content": {_HTML: {"schema": {"type": "string"}}},
            },
            401: {
                "description": "No session: the sign-in form",
                "content": {_HTML: {"schema": {"type": "string"}}},
            },
        },
        (),
    ),
    "open_session": (
        {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"token": {"type": "string"}},
                        "required": ["token"],
                    }
                }
            }
        },
        {
            303: {"description": "Signed in: the session cookie is set; go to /"},
            401: {
                "description": "A wrong token: the sign-in form again",
                "content": {_HTML: {"schema": {"type": "string"}}},
            },
        },
        (413,),
    ),
    "close_session": (None, {204: {"description": "Signed out"}}, ()),
}


def _presented_token(content_type: str, body: bytes) -> str | None:
    if content_type.startswith("application/json"):
        try:
            data = read_json(body)
        except ValueError:
            return None
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else None
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=4).get("token", [])
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


def add_page_routes(api: FastAPI, settings: ServiceSettings) -> None:
    """Add ``GET /``, ``POST /session`` and ``DELETE /session`` to ``api``."""
    page = _read("page.html")
    login = _read("login.html")
    tokens = settings.tokens

    def sign_in(note: str) -> Response:
        return _html_reply(
            login.replace("{note}", html.escape(note)), 401, **{"WWW-Authenticate": "Bearer"}
        )

    @api.get("/", operation_id="page", include_in_schema=True)
    async def show_page(request: Request) -> Response:
        """The live page of jobs and budget (with a session), else the sign-in form."""
        if request_access(request, tokens, cookie_ok=True) >= Access.READ:
            return _html_reply(page, 200)
        return sign_in("")

    @api.post("/session", operation_id="open_session")
    async def open_session(request: Request) -> Response:
        """Trade the read token (form field ``token``) for a read-only session cookie."""
        token = _presented_token(request.headers.get("content-type", ""), await request.body())
        if tokens.access_of(token) < Access.READ:
            return sign_in("That is not the read token of this service.")
        expires_at = int(time.time()) + settings.session_seconds
        response = Response(status_code=303, headers={"Location": "/"})
        response.set_cookie(
            SESSION_COOKIE,
            tokens.new_session(expires_at),
            max_age=settings.session_seconds,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https"
            or request.headers.get("x-forwarded-proto") == "https",
        )
        return response

    @api.delete("/session", operation_id="close_session", status_code=204)
    async def close_session() -> Response:
        """Forget the session cookie."""
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response
