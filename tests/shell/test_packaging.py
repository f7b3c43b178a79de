"""Packaging: the library does not need the demo's dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_BLOCK_DEMO_DEPS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'rich', 'tomli'}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import shell, core
print('ok', 'rich' in sys.modules)
"""


def test_shell_imports_without_the_demo_dependencies() -> None:
    """`import shell` works where rich and tomli cannot be imported."""
    out = subprocess.run(
        [sys.executable, "-c", _BLOCK_DEMO_DEPS], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "False"]


def test_ray_extra_leaves_the_demo_dependencies_to_the_demo_extra() -> None:
    """`eap-state[ray]` brings no rich; the `demo` extra does."""
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert not any(dep.startswith("rich") for dep in extras["ray"])
    assert any(dep.startswith("rich") for dep in extras["demo"])
