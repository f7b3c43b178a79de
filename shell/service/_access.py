"""Route guards: the bearer token (or, for reading only, the page's session cookie).

A missing or wrong credential is 401, the read token on a write route 403.
The checks read headers only, so they run before any body is read, and a
refused request changes nothing.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer

from core.errors import StateError
from shell.service._tokens import Access, AccessTokens

__all__ = ["SESSION_COOKIE", "AccessDenied", "guards", "request_access"]

#: Name of the page's session cookie (HttpOnly, SameSite=Strict).
SESSION_COOKIE = "eap_state_session"

# Declared for the OpenAPI schema (the security schemes); the checking is ours.
_bearer_scheme = HTTPBearer(auto_error=False, description="the write or the read token")
_cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="the page's session (read only)"
)
_BEARER_DOC = Depends(_bearer_scheme)
_COOKIE_DOC = Depends(_cookie_scheme)


class AccessDenied(StateError, PermissionError):
    """A request without the credential its route needs: 401 (none or wrong) or 403 (read only).

    Its message never holds the presented token.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, field="authorization")
        self.status = status


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_access(request: Request, tokens: AccessTokens, *, cookie_ok: bool) -> Access:
    """Return what the request's bearer token (or, if ``cookie_ok``, its session) grants."""
    token = _bearer(request)
    if token is not None:
        return tokens.access_of(token)
    if cookie_ok:
        return tokens.session_access(request.cookies.get(SESSION_COOKIE), time.time())
    return Access.NONE


def guards(tokens: AccessTokens) -> tuple[Any, Any]:
    """Return the FastAPI dependencies ``(can_read, can_write)`` for these tokens.

    ``can_read`` accepts the read or the write token, or a page session;
    ``can_write`` only the write token in an ``Authorization: Bearer`` header
    (a cookie never authorizes a write, so a page cannot be tricked into one).
    """

    def refuse(granted: Access, needed: Access) -> None:
        if granted >= needed:
            return
        if granted is Access.NONE:
            raise AccessDenied(401, "a valid bearer token is required")
        raise AccessDenied(403, "this route needs the write token; the read token was given")

    async def can_read(
        request: Request,
        _bearer_doc: Any = _BEARER_DOC,
        _cookie_doc: Any = _COOKIE_DOC,
    ) -> None:
        refuse(request_access(request, tokens, cookie_ok=True), Access.READ)

    async def can_write(request: Request, _bearer_doc: Any = _BEARER_DOC) -> None:
        refuse(request_access(request, tokens, cookie_ok=False), Access.WRITE)

    return Depends(can_read), Depends(can_write)
