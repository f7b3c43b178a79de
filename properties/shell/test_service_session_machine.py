"""The page's session cookies against a trivial model, on a fake clock.

A session grants reading until its expiry and never after; a cookie made
under other tokens, or altered, grants nothing; tokens never grant by cookie.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shell.service._tokens import Access, AccessTokens

_OLD = AccessTokens.from_secrets("w" * 20, "r" * 20)
_NEW = AccessTokens.from_secrets("W" * 20, "R" * 20)


class SessionMachine(RuleBasedStateMachine):
    """Sessions opened and checked as a fake clock moves; the model is a dict of expiries."""

    @initialize()
    def start(self) -> None:
        """Start at time 1000 with no sessions, under the old tokens."""
        self.now = 1000.0
        self.tokens = _OLD
        self.sessions: dict[str, tuple[AccessTokens, int]] = {}

    @rule(lifetime=st.integers(min_value=1, max_value=100))
    def open_session(self, lifetime: int) -> None:
        """Sign in: a cookie valid for ``lifetime`` seconds from now."""
        expires = int(self.now) + lifetime
        self.sessions[self.tokens.new_session(expires)] = (self.tokens, expires)

    @rule(seconds=st.floats(min_value=0, max_value=60))
    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += seconds

    @rule()
    def rotate_tokens(self) -> None:
        """Restart the service with the other pair of tokens."""
        self.tokens = _NEW if self.tokens is _OLD else _OLD

    @rule(data=st.data())
    def tampered_cookie_grants_nothing(self, data: st.DataObject) -> None:
        """A cookie with its expiry pushed or its MAC changed grants nothing."""
        if not self.sessions:
            return
        cookie = data.draw(st.sampled_from(sorted(self.sessions)))
        expiry, _, mac = cookie.partition(".")
        pushed = f"{int(expiry) + data.draw(st.integers(1, 10**6))}.{mac}"
        flipped = f"{expiry}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"
        for forged in (pushed, flipped):
            assert self.tokens.session_access(forged, self.now) is Access.NONE

    @invariant()
    def sessions_match_the_model(self) -> None:
        """Each cookie reads iff made under the current tokens and not yet expired."""
        for cookie, (made_under, expires) in getattr(self, "sessions", {}).items():
            expected = made_under is self.tokens and self.now < expires
            granted = self.tokens.session_access(cookie, self.now)
            assert granted is (Access.READ if expected else Access.NONE)


TestSessionMachine = SessionMachine.TestCase
