"""The core/shell boundary: core is pure and importable without Ray."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import core

ROOT = Path(__file__).resolve().parents[2]
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
    for path in sorted((ROOT / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN
            ]
    assert offenders == []


def test_core_ships_py_typed_and_explicit_all() -> None:
    """core is marked typed and every public name it lists actually exists."""
    assert (ROOT / "core" / "py.typed").exists()
    missing = [name for name in core.__all__ if not hasattr(core, name)]
    assert missing == []
    assert json.dumps(sorted(core.__all__))  # names are plain strings


def test_core_errors_share_one_root_and_input_errors_are_value_errors() -> None:
    """Every core error is a StateError, rooted on Exception, and every one of them is bad input."""
    errors = [getattr(core, n) for n in core.__all__ if n.endswith("Error")]
    assert len(errors) >= 6
    assert core.StateError.__bases__ == (Exception,)
    assert not issubclass(core.StateError, ValueError)
    for error in errors:
        assert issubclass(error, core.StateError)
        if error is not core.StateError:
            assert issubclass(error, ValueError), error


def test_ray_is_absent_where_the_core_runs_alone() -> None:
    """Where `make core-without-ray` runs, Ray cannot be imported, so passing proves purity."""
    if not os.environ.get("EAP_STATE_EXPECT_NO_RAY"):
        pytest.skip("only meaningful in the no-Ray environment (EAP_STATE_EXPECT_NO_RAY=1)")
    assert importlib.util.find_spec("ray") is None
    assert importlib.util.find_spec("shell") is not None  # the tree is there; Ray is not
