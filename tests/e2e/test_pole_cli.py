"""A pole counts from qualifying, from the command line (issue 9 item 13): the demo records the
R1 poles at the Sepang qualifying sessions, before the flag."""

from __future__ import annotations

from tests.e2e.conftest import CliRunner

ASLMS = "aslms-2023-24"
QUALIFIED = "2023-12-02T12:00:00+08:00"  # after qualifying (10:15), before R1's flag (17:00)


def test_standings_between_qualifying_and_the_flag_hold_the_poles(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    view = paddock("standings", ASLMS, "--as-of", QUALIFIED, "--json").json()
    assert view["rounds"][0]["status"] == "not published"
    assert view["rounds"][0]["poles"] == {"GT": "42", "LMP2": "90", "LMP3": "20"}
    held = {c["class"]: [(r["car"], r["points"]) for r in c["rows"]] for c in view["classes"]}
    assert held == {"LMP2": [("90", 1)], "LMP3": [("20", 1)], "GT": [("42", 1)]}
    text = paddock("audit", "explain", ASLMS, "--car", "90", "--as-of", QUALIFIED)
    assert text.code == 0, text.err
    assert "LMP2: position 1\n" in text.out
    assert "R1 LMP2 pole #90 (in force from 2023-12-02T10:15:00+08:00)" in text.out
    assert "= 1 in the standings" in text.out
