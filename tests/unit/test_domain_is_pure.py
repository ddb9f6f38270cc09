"""`domain/` stays pure: no I/O, no asyncio, no logging, nothing from the outer layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FORBIDDEN = {
    "asyncio", "logging", "structlog", "nats", "sqlite3", "psycopg", "psycopg2", "os", "socket",
    "pathlib", "subprocess", "threading", "io", "shutil", "tempfile", "urllib", "http", "requests",
    "projections", "services", "infra", "tests",
}


def imported_modules(source: str, package: str) -> set[str]:
    """Top-level names of every module imported by `source`, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_domain_modules_are_found() -> None:
    names = {p.relative_to(DOMAIN).as_posix() for p in domain_modules()}
    assert {"classification.py", "standings.py", "timing.py", "aggregates/invitation.py"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.relative_to(DOMAIN).as_posix())
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    package = ".".join(("domain", *path.relative_to(DOMAIN).parent.parts))
    imports = imported_modules(path.read_text(encoding="utf-8"), package)
    bad = sorted(name for name in imports if name.split(".")[0] in FORBIDDEN)
    assert not bad, f"{path.relative_to(DOMAIN.parent)} imports {', '.join(bad)}"


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("import os", "domain", {"os"}),
        ("import os.path as p", "domain", {"os.path"}),
        ("from pathlib import Path", "domain", {"pathlib"}),
        ("from projections.ledger import LedgerFold", "domain", {"projections.ledger"}),
        ("from . import errors", "domain", {"domain"}),
        ("from ..errors import X", "domain.aggregates", {"domain.errors"}),
        ("def f():\n    import asyncio", "domain", {"asyncio"}),  # imports inside functions
        ("x = __import__('socket')", "domain", {"socket"}),
    ],
)
def test_imported_modules_sees_every_kind_of_import(source: str, package: str,
                                                    expected: set[str]) -> None:
    assert imported_modules(source, package) == expected


def test_the_check_would_catch_an_impure_module() -> None:
    for source in ("import logging", "from infra.store import store_settings",
                   "import structlog", "from nats.js import api", "import sqlite3"):
        imports = imported_modules(source, "domain")
        assert any(name.split(".")[0] in FORBIDDEN for name in imports), source
