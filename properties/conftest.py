"""Hypothesis profiles for the property suite (see docs/properties.md).

- ``ci``: derandomized (the same examples every run), no deadline, no example
  database, failing examples printed as reproduction blobs; sized so the whole
  property suite takes about a minute on two cores.
- ``dev``: a quick randomized pass while editing.
- ``thorough``: ten times the ``ci`` examples, randomized, for a deliberate long run.

Selection: ``--hypothesis-profile NAME`` on the command line wins, then the
``HYPOTHESIS_PROFILE`` environment variable, then ``ci`` when ``CI`` is set,
else ``dev``.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import settings

CI_EXAMPLES = 200

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=CI_EXAMPLES,
)
settings.register_profile("dev", deadline=None, max_examples=20)
settings.register_profile(
    "thorough",
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=10 * CI_EXAMPLES,
)


def _profile_from_environment() -> str:
    explicit = os.environ.get("HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    return "ci" if os.environ.get("CI") else "dev"


settings.load_profile(_profile_from_environment())


def pytest_configure(config: Any) -> None:
    """Let ``--hypothesis-profile`` override the environment even if this file loads late."""
    chosen = config.getoption("hypothesis_profile", None)
    if chosen:
        settings.load_profile(chosen)
