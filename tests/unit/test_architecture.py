"""The rules of the house (docs/architecture.md), held by a test so that they stay true as the code grows.

- the import contracts of ``[tool.importlinter]`` in pyproject.toml: the layers (doors over the service layer over the
  adapters over the rules over the basics), the doors reaching adapters only through ``entrypoints.bootstrap``, no
  table definitions above the adapters, the rules free of databases, HTTP and terminals;
- SQL only in the adapters: above them, SQLAlchemy is a type (``Connection``, ``Engine``) and its exceptions, never a
  statement builder;
- sizes a reader can hold: no module over 600 lines (migrations aside), no function over 80 lines, at most 15 modules
  at the package root.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from importlinter.cli import lint_imports

from tests.support.paths import ROOT

PACKAGE = ROOT / "src" / "arrears"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_ROOT_MODULES = 15

# What the layers above the adapters may take from SQLAlchemy: the types a unit of work hands to a repository, and
# the exceptions a door translates into a message. A statement builder (select, insert, text, ...) is SQL: adapters.
SERVICE_SQLALCHEMY = {"Connection", "Engine"}
ABOVE_ADAPTERS = ("service_layer", "entrypoints", "demo")


def _modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.relative_to(PACKAGE).parts:
            yield path


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_the_import_contracts_hold() -> None:
    """``lint-imports`` over pyproject.toml's contracts: 0 when every contract is kept (it prints the broken ones)."""
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_above_the_adapters_sqlalchemy_is_only_types_and_exceptions() -> None:
    found = []
    for path in _modules():
        part = path.relative_to(PACKAGE).parts[0]
        if part not in ABOVE_ADAPTERS or path.name == "bootstrap.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
                found.append(f"{_name(path)}:{node.lineno} import sqlalchemy")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
                if node.module == "sqlalchemy.exc":
                    continue
                allowed = SERVICE_SQLALCHEMY if part == "service_layer" else set()
                extra = sorted(a.name for a in node.names if a.name not in allowed)
                if extra:
                    found.append(f"{_name(path)}:{node.lineno} from {node.module} import {', '.join(extra)}")
    assert found == [], "SQL belongs in arrears.adapters:\n" + "\n".join(found)


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = [
        f"{_name(path)}: {lines} lines"
        for path in _modules()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    ]
    assert long == [], f"modules over {MAX_MODULE_LINES} lines (split them by what they teach):\n" + "\n".join(long)


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{_name(path)}:{node.lineno} {node.name}: {lines} lines")
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines (cut them into named steps):\n" + "\n".join(long)


def test_the_package_root_holds_the_basics_only() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(modules) <= MAX_ROOT_MODULES, f"{len(modules)} modules at the package root: {modules}"


def test_the_checks_see_what_they_check() -> None:
    """The walks above find the package (a wrong path would make every check pass vacuously)."""
    names = {_name(p) for p in _modules()}
    assert "arrears/domain/engine.py" in names
    assert "arrears/entrypoints/bootstrap.py" in names
    assert not any("migrations" in n for n in names)
