"""The AsyncAPI document passes the official AsyncAPI parser (issue 9 item 22): what producers'
code generators read must resolve, every `$ref` included.

The parser (@asyncapi/parser, pinned in tests/asyncapi/package-lock.json) is installed by
`make asyncapi-parser` (`npm ci`; `make test` runs it when npm is on PATH). Without Node the test
skips, except where PADDOCK_REQUIRE_ASYNCAPI=1 (.ci/run) makes it mandatory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PADDOCK

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tests" / "asyncapi"
SHIPPED = ROOT / "docs" / "schemas" / "asyncapi.json"
ERROR, WARNING = 0, 1  # the parser's severities; 2 (information) and 3 (hint) are advice


def node() -> str:
    """The node binary, once the parser is installed; else skip (or fail where required)."""
    found = shutil.which("node")
    if found and (CHECKER / "node_modules" / "@asyncapi" / "parser").is_dir():
        return found
    reason = ("the official AsyncAPI parser is not installed: run `make asyncapi-parser` "
              "(npm ci in tests/asyncapi; needs npm: apt-get install npm)"
              if found else "node is not on PATH: install Node.js and npm (apt-get install "
              "nodejs npm), then run `make asyncapi-parser`")
    if os.environ.get("PADDOCK_REQUIRE_ASYNCAPI") == "1":
        pytest.fail(f"PADDOCK_REQUIRE_ASYNCAPI=1 but {reason}")
    pytest.skip(reason)


def diagnostics(document: Path) -> list[dict[str, Any]]:
    done = subprocess.run([node(), str(CHECKER / "validate.mjs"), str(document)], check=False,
                          capture_output=True, text=True, cwd=CHECKER, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def problems(found: list[dict[str, Any]]) -> list[str]:
    return [f"{d['code']} at {'/'.join(map(str, d['path']))}: {d['message']}"
            for d in found if d["severity"] in (ERROR, WARNING)]


@pytest.fixture(scope="module")
def shipped() -> list[dict[str, Any]]:
    return diagnostics(SHIPPED)


def test_the_shipped_document_has_no_errors_or_warnings(shipped: list[dict[str, Any]]) -> None:
    assert problems(shipped) == []


def test_a_document_generated_for_another_prefix_has_none_either(
        tmp_path: Path, shipped: list[dict[str, Any]]) -> None:
    done = subprocess.run([PADDOCK, "schema", "--prefix", "t1", "--out", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = diagnostics(tmp_path / "asyncapi.json")
    assert problems(found) == []
    assert found == shipped  # the same advice only, if any
