"""`paddock audit report` as a user runs it, opened in a real headless Chromium.

The DOM Chromium builds is checked (standings tables per class, the SVG charts with one series
per car, the decisions with their highlighted changes), and a screenshot is kept under the
test's temp dir as a CI artifact. Without a `chromium` binary these tests skip with a reason,
except when PADDOCK_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CliRunner
from tests.html_dom import Node, parse

ASLMS = "aslms-2023-24"
REQUIRE_BROWSER = os.environ.get("PADDOCK_REQUIRE_BROWSER") == "1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROWSER_TIMEOUT = 90


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = ("no chromium on PATH: install Debian's package (sudo apt-get install chromium) "
                   "to run the browser tests")
        if REQUIRE_BROWSER:
            pytest.fail(message + " — PADDOCK_REQUIRE_BROWSER=1 makes them mandatory")
        pytest.skip(message)
    return found


def headless(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a throwaway profile; stdout is what it prints."""
    profile = tmp_path / "chromium-profile"
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", "--hide-scrollbars",
            f"--user-data-dir={profile}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def report(paddock: CliRunner, tmp_path: Path) -> Path:
    """The final-standings report of the demo season, written by the CLI."""
    assert paddock("demo").code == 0
    out = tmp_path / "report.html"
    run = paddock("audit", "report", ASLMS, "--out", str(out))
    assert run.code == 0, run.err
    assert f"report written: {out}" in run.out
    return out


def car_points(paddock: CliRunner) -> dict[str, dict[str, str]]:
    """class → car → points, from `paddock standings --json` (the report must agree)."""
    view = paddock("standings", ASLMS, "--json").json()
    return {c["class"]: {r["car"]: str(r["points"]) for r in c["rows"]} for c in view["classes"]}


def test_the_report_opens_in_chromium_with_tables_charts_and_decisions(
        chromium: str, report: Path, paddock: CliRunner, tmp_path: Path) -> None:
    dom = parse(headless(chromium, tmp_path, "--dump-dom", report.as_uri()).stdout)
    expected = car_points(paddock)
    assert dom.find("h1").text() == "Asian Le Mans Series 2023/24"
    for class_id, cars in expected.items():
        rows = dom.find("table", "standings", {"data-class": class_id}).find("tbody").find_all("tr")
        assert {r.attrs["data-car"]: r.attrs["data-points"] for r in rows} == cars
        svg = dom.find("svg", "progression", {"data-class": class_id})
        series = {g.attrs["data-car"]: g for g in svg.find_all("g", "series")}
        assert {car: g.attrs["data-total"] for car, g in series.items()} == cars
        assert all(g.find("polyline").attrs["points"] for g in series.values())
    assert_decisions(dom)


def assert_decisions(dom: Node) -> None:
    """The three R5 penalties, one moment, and the rows they changed highlighted."""
    moment = dom.find("section", attrs={"id": "decisions"}).find("article", "moment")
    assert "R5 · 3 decisions" in moment.find("h3").text()
    assert len(moment.find_all("li", "decision")) == 3
    changed = {(r.attrs["data-class"], r.attrs["data-car"]): r
               for r in moment.find("table", "changes").find_all("tr", "changed")}
    assert len(changed) == 15
    assert "lost" in changed[("GT", "19")].classes
    assert "▼2 places" in changed[("GT", "19")].text() and "−19 pts" in changed[("GT", "19")].text()
    assert "gained" in changed[("LMP2", "22")].classes
    highlighted = {(r.attrs["data-class"], r.attrs["data-car"])
                   for r in dom.find_all("tr", "changed") if "data-changed-by" in r.attrs}
    assert highlighted == set(changed)
    timeline = dom.find("table", "timeline")
    assert len(timeline.find_all("tr", "decision")) == 3


def test_a_screenshot_of_the_report_is_kept_as_an_artifact(
        chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "audit-report.png"
    headless(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400",
             report.as_uri())
    assert shot.exists(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 50_000, f"suspiciously small screenshot ({len(data)} bytes)"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2400)
    print(f"audit report screenshot: {shot}")


def test_a_report_into_a_missing_directory_is_refused_and_nothing_is_written(
        paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo").code == 0
    missing = tmp_path / "no-such-dir" / "report.html"
    run = paddock("audit", "report", ASLMS, "--out", str(missing))
    assert run.code == 1
    assert "does not exist" in run.err and "mkdir -p" in run.err
    assert not missing.parent.exists()


def test_an_unknown_championship_writes_nothing_and_leaves_no_temp_file(
        paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo").code == 0
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    run = paddock("audit", "report", "no-such-cup", "--out", str(out))
    assert run.code == 1 and "unknown championship 'no-such-cup'" in run.err
    assert list(out.parent.iterdir()) == []


def test_json_prints_the_reports_data(paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo").code == 0
    out = tmp_path / "report.html"
    run = paddock("audit", "report", ASLMS, "--as-of", "2024-02-05", "--out", str(out), "--json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["as_of"] == "2024-02-05T00:00:00Z" and data["decisions"] == []
    assert [r["round"] for r in data["rounds"] if r["published"]] == [1, 2, 3]
    lmp2 = next(b for b in data["classes"] if b["class"] == "LMP2")
    assert (lmp2["rows"][0]["car"], lmp2["rows"][0]["progression"][-1]["cumulative"]) == ("99", 68)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
