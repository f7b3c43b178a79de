"""docs/api.md documents every public name of core and shell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _documented() -> set[str]:
    """Return the names that have a ``### `name` `` heading in docs/api.md."""
    return set(re.findall(r"^### `([A-Za-z_][A-Za-z0-9_]*)`", API.read_text(), re.MULTILINE))


def _public(module_name: str) -> list[str]:
    """Return a module's ``__all__``, importing it (skipped when its extra is missing)."""
    module = pytest.importorskip(module_name)
    return list(module.__all__)


@pytest.mark.parametrize("module_name", ["core", "shell", "shell.store", "shell.service"])
def test_every_public_name_is_documented(module_name: str) -> None:
    """Each name in the module's __all__ has its own heading in docs/api.md."""
    missing = sorted(set(_public(module_name)) - _documented())
    assert not missing, f"docs/api.md has no '### `name`' entry for {module_name}: {missing}"


def test_documented_names_exist() -> None:
    """Every heading in docs/api.md names something core or shell really exports."""
    exported = set(_public("core")) | set(_public("shell")) | set(_public("shell.store"))
    exported |= set(_public("shell.service"))
    stale = sorted(_documented() - exported)
    assert not stale, f"docs/api.md documents names nobody exports: {stale}"


def test_readme_example_runs(ray_session: object, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example runs as written (on the session's Ray) and prints what it claims."""
    readme = (API.parent.parent / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert match, "README.md has no python example"
    code = match.group(1).replace("ray.init()", "pass  # the session's Ray is running")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("refused: cannot reserve 2.50")
    assert out[1:3] == ["4", "16.00"]
