"""The core/shell boundary: core is pure and importable without Ray."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"shell", "ray", "time", "random", "threading", "os", "datetime", "asyncio"}


def test_import_core_loads_no_ray_module() -> None:
    """`import core` in a fresh interpreter imports no Ray, shell, clock or thread module."""
    code = (
        "import json, sys; before = set(sys.modules); import core; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert "core" in loaded
    leaked = [m for m in loaded if m.split(".")[0] in {"ray", "shell"}]
    assert leaked == []


def test_core_sources_import_nothing_forbidden() -> None:
    """No module in core/ imports shell, ray, time, random, threading, os, datetime or asyncio."""
    offenders = []
    for path in sorted((ROOT / "core").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_core_ships_py_typed_and_explicit_all() -> None:
    """core is marked typed and every public name it lists actually exists."""
    assert (ROOT / "core" / "py.typed").exists()
    missing = [name for name in core.__all__ if not hasattr(core, name)]
    assert missing == []
    assert json.dumps(sorted(core.__all__))  # names are plain strings


def test_every_library_error_is_a_value_error() -> None:
    """Every error core exports subclasses StateError, which subclasses ValueError."""
    errors = [getattr(core, n) for n in core.__all__ if n.endswith(("Error", "Unavailable"))]
    assert errors
    for error in errors:
        assert issubclass(error, core.StateError)
    assert issubclass(core.StateError, ValueError)
