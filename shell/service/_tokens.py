"""Who may do what: the two bearer tokens, compared in constant time, and the page's session.

The tokens themselves never leave the process that read them: the builder
keeps only their SHA-256 digests, which is all a replica needs to check a
presented token (a token is a long random secret, so its digest cannot be
reversed). Every check hashes the presented token and compares it with both
digests using `hmac.compare_digest`, so the time taken says nothing about
how much of a token was right, nor which token it was close to.

The page cannot send a header from a browser's ``EventSource``, and a token
in a URL ends up in logs, so the page trades the read token once for a
session cookie: ``<expiry>.<mac>``, the MAC keyed by the read token's digest.
It is stateless (any replica can check it), expires, dies when the read
token changes, and only ever grants reading.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shell.errors import InvalidArgumentError

__all__ = [
    "READ_TOKEN_VARIABLE",
    "WRITE_TOKEN_VARIABLE",
    "Access",
    "AccessTokens",
    "load_tokens",
]

#: Environment variable holding the token of the mutating routes.
WRITE_TOKEN_VARIABLE = "EAP_STATE_WRITE_TOKEN"
#: Environment variable holding the token of the summaries, event streams and page.
READ_TOKEN_VARIABLE = "EAP_STATE_READ_TOKEN"
# A shorter token can be guessed; 16 characters of a random token are ~96 bits.
_MIN_TOKEN_LENGTH = 16


class Access(enum.IntEnum):
    """What a request may do; ordered, so ``access >= Access.READ`` reads as it says."""

    NONE = 0
    READ = 1
    WRITE = 2


def _digest(secret: str | bytes) -> bytes:
    data = secret.encode("utf-8", "surrogatepass") if isinstance(secret, str) else secret
    return hashlib.sha256(data).digest()


@dataclass(frozen=True)
class AccessTokens:
    """The SHA-256 digests of the write and the read token (never the tokens).

    Make it with `load_tokens` or `AccessTokens.from_secrets`. Its ``repr``
    shows no digest, so it can be logged.
    """

    write_digest: bytes
    read_digest: bytes

    @classmethod
    def from_secrets(cls, write_token: str, read_token: str) -> AccessTokens:
        """Check two tokens and keep only their digests.

        Raises:
            InvalidArgumentError: a token is shorter than 16 characters, has
                surrounding spaces, or both tokens are the same.
        """
        for field, token in (("write_token", write_token), ("read_token", read_token)):
            if not isinstance(token, str) or len(token) < _MIN_TOKEN_LENGTH:
                # The value is never put in an error: it is a secret.
                raise InvalidArgumentError(
                    f"{field} must be a str of at least {_MIN_TOKEN_LENGTH} characters",
                    field=field,
                )
            if token != token.strip():
                raise InvalidArgumentError(
                    f"{field} must not start or end with white space", field=field
                )
        if hmac.compare_digest(_digest(write_token), _digest(read_token)):
            raise InvalidArgumentError(
                "the write and the read token must differ", field="read_token"
            )
        return cls(_digest(write_token), _digest(read_token))

    def __repr__(self) -> str:
        return "AccessTokens(<write digest>, <read digest>)"

    def access_of(self, token: str | None) -> Access:
        """Return what a presented bearer token grants; O(1), constant time in the token.

        Both digests are always compared, so the answer takes as long for
        the write token, the read token and a wrong one.
        """
        presented = _digest("" if token is None else token)
        is_write = hmac.compare_digest(presented, self.write_digest)
        is_read = hmac.compare_digest(presented, self.read_digest)
        if token is None or not token:
            return Access.NONE
        if is_write:
            return Access.WRITE
        return Access.READ if is_read else Access.NONE

    def new_session(self, expires_at: int) -> str:
        """Return a session cookie value that grants reading until ``expires_at`` (epoch s)."""
        return f"{expires_at}.{self._session_mac(expires_at)}"

    def session_access(self, cookie: str | None, now: float) -> Access:
        """Return `Access.READ` for a valid, unexpired session cookie, else `Access.NONE`."""
        if not cookie:
            return Access.NONE
        expiry_text, _, mac = cookie.partition(".")
        if not expiry_text.isdigit() or len(expiry_text) > 12:
            return Access.NONE
        expires_at = int(expiry_text)
        expected = self._session_mac(expires_at)
        if not hmac.compare_digest(mac.encode("ascii", "replace"), expected.encode("ascii")):
            return Access.NONE
        return Access.READ if now < expires_at else Access.NONE

    def _session_mac(self, expires_at: int) -> str:
        message = f"eap-state session until {expires_at}".encode("ascii")
        return hmac.new(self.read_digest, message, hashlib.sha256).hexdigest()


def _tokens_from_file(path: Path) -> tuple[str, str]:
    """Read ``write = ...`` and ``read = ...`` lines (``#`` comments allowed) from a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgumentError(
            f"cannot read the token file {str(path)!r}: {err.__class__.__name__}",
            field="token_file",
            value=str(path),
        ) from None
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.lstrip().startswith("#"):
            continue
        found[key.strip().lower()] = value.strip()
    missing = [key for key in ("write", "read") if key not in found]
    if missing:
        raise InvalidArgumentError(
            f"the token file {str(path)!r} has no {' or '.join(missing)} line "
            "(expected 'write = ...' and 'read = ...')",
            field="token_file",
            value=str(path),
        )
    return found["write"], found["read"]


def load_tokens(
    token_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> AccessTokens:
    """Load the two tokens from a file, or else from the environment.

    Tokens are never taken from a command line (any user of the machine can
    read one). The file holds ``write = TOKEN`` and ``read = TOKEN`` lines;
    the environment ``EAP_STATE_WRITE_TOKEN`` and ``EAP_STATE_READ_TOKEN``.

    Args:
        token_file: Path of the token file, or None to use the environment.
        environ: The environment to read; ``os.environ`` when None.

    Returns:
        The tokens' digests.

    Raises:
        InvalidArgumentError: no tokens configured, an unreadable file, or a
            token too short (see `AccessTokens.from_secrets`).
    """
    if token_file is not None:
        write_token, read_token = _tokens_from_file(Path(token_file))
    else:
        env = os.environ if environ is None else environ
        write_token = env.get(WRITE_TOKEN_VARIABLE, "")
        read_token = env.get(READ_TOKEN_VARIABLE, "")
        if not write_token or not read_token:
            raise InvalidArgumentError(
                f"set {WRITE_TOKEN_VARIABLE} and {READ_TOKEN_VARIABLE} in the environment, "
                "or give a token_file",
                field="tokens",
            )
    return AccessTokens.from_secrets(write_token, read_token)
