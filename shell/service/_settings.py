"""The service's settings, read once where the app is built (`serve run` or ``python -m``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shell.errors import InvalidArgumentError
from shell.service._tokens import AccessTokens, load_tokens

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ServiceSettings", "service_settings"]

#: Request bodies larger than this get 413 before they are parsed (1 MiB).
DEFAULT_MAX_BODY_BYTES = 1 << 20
# A page session lasts a working day; the operator types the read token again after.
_DEFAULT_SESSION_SECONDS = 12 * 3600
# A store call that takes longer is answered 503: the client retries, the page waits.
_DEFAULT_TIMEOUT_SECONDS = 10.0
_ARGUMENTS = {
    "timeout",
    "store_name",
    "namespace",
    "token_file",
    "max_body_bytes",
    "session_seconds",
    "num_replicas",
}


@dataclass(frozen=True)
class ServiceSettings:
    """Everything a replica needs; picklable, and holds token digests, never tokens.

    Attributes:
        store_name: Name of the `StateStore` actor to serve.
        namespace: Its Ray namespace (None: the Serve application's own).
        tokens: Digests of the write and read tokens.
        max_body_bytes: Larger request bodies get 413 before they are parsed.
        session_seconds: How long a page session cookie lasts.
        num_replicas: Replicas of the ingress deployment.
        timeout: Seconds each store call may take (a waiting call: on top of its wait).
    """

    store_name: str
    namespace: str | None
    tokens: AccessTokens
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    session_seconds: int = _DEFAULT_SESSION_SECONDS
    num_replicas: int = 1
    timeout: float = _DEFAULT_TIMEOUT_SECONDS


def _positive(args: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    raw = args.get(key, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(
            f"{key} must be a positive number, got {raw!r}", field=key, value=raw
        ) from None
    if isinstance(raw, bool) or not 0 < value < 1e12:
        raise InvalidArgumentError(
            f"{key} must be a positive number, got {raw!r}", field=key, value=raw
        )
    return value


def _name(args: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{key} must be a non-empty str, got {value!r}", field=key, value=value
        )
    return value


def service_settings(
    args: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ServiceSettings:
    """Build `ServiceSettings` from application arguments (strings, as `serve run` passes them).

    Args:
        args: ``store_name`` (required), ``namespace``, ``token_file``,
            ``max_body_bytes``, ``session_seconds``, ``num_replicas``, ``timeout``.
            Tokens are not arguments: they come from ``token_file`` or the environment.
        environ: The environment to read tokens from; ``os.environ`` when None.

    Raises:
        InvalidArgumentError: an unknown or invalid argument, or no tokens.
    """
    if not isinstance(args, Mapping):
        raise InvalidArgumentError(
            f"application arguments must be a mapping, got {type(args).__name__}", field="args"
        )
    unknown = sorted(str(key) for key in args if key not in _ARGUMENTS)
    if unknown:
        raise InvalidArgumentError(
            f"unknown application argument(s) {unknown}; known: {sorted(_ARGUMENTS)}",
            field="args",
            value=unknown,
        )
    store_name = _name(args, "store_name", required=True)
    assert store_name is not None  # required=True never returns None
    token_file = _name(args, "token_file", required=False)
    return ServiceSettings(
        store_name=store_name,
        namespace=_name(args, "namespace", required=False),
        tokens=load_tokens(token_file, environ),
        max_body_bytes=_positive(args, "max_body_bytes", DEFAULT_MAX_BODY_BYTES, int),
        session_seconds=_positive(args, "session_seconds", _DEFAULT_SESSION_SECONDS, int),
        num_replicas=_positive(args, "num_replicas", 1, int),
        timeout=_positive(args, "timeout", _DEFAULT_TIMEOUT_SECONDS, float),
    )
