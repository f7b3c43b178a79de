"""House rules that a tool can check: docstrings on tests, small modules, one error root."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from core.errors import StateError

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 520  # "no file over ~500 lines"


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_every_test_has_a_one_line_docstring() -> None:
    """Each test function in tests/ and properties/ says in its docstring what it ensures."""
    missing = []
    for path in _python_files("tests", "properties"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                doc = ast.get_docstring(node)
                if not doc or not doc.strip().splitlines()[0]:
                    missing.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert missing == []


def test_no_module_is_over_the_size_limit() -> None:
    """No Python file of the project is much over 500 lines."""
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files("core", "shell", "tests", "properties", "bench")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def _library_modules() -> list[str]:
    names = []
    for package in ("core", "shell"):
        module = importlib.import_module(package)
        names.append(package)
        names += [
            info.name for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}.")
        ]
    return names


def test_every_library_error_subclasses_the_root_error() -> None:
    """Every exception class defined in core or shell subclasses StateError."""
    pytest.importorskip("ray")
    strays = []
    for name in _library_modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == name
                and issubclass(cls, BaseException)
                and not issubclass(cls, StateError)
            ):
                strays.append(f"{name}.{cls.__name__}")
    assert strays == []
