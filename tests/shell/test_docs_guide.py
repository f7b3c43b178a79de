"""The usage guide shows only public names, and shows the one-line move from refs to the store."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
PRIVATE = re.compile(r"(?<![\w.])_[a-z]\w*|\._[a-z]\w*")


def test_guide_mentions_no_private_name() -> None:
    """No `_name` or `obj._name` appears in docs/guide.md (it used to cite _compute_job_summary)."""
    assert PRIVATE.findall(GUIDE.read_text()) == []


def test_guide_shows_the_one_line_switch() -> None:
    """The guide shows RefStore.create and StateStore.create as interchangeable backends."""
    text = GUIDE.read_text()
    assert "backend = RefStore.create(budget_config, agents_config)" in text
    assert "backend = StateStore.create(budget_config, agents_config)" in text
