"""A car that changes class mid-season, from the command line (issue 9 item 15)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import CliRunner
from tests.integration.test_class_change import ELMS, PRO_AM, SEASON


def test_entries_by_round_from_the_season_file_and_the_entry_command(paddock: CliRunner,
                                                                     tmp_path: Path) -> None:
    overlapping = tmp_path / "overlap.toml"
    overlapping.write_text(SEASON.replace("until_round = 2", "until_round = 3"), encoding="utf-8")
    refused = paddock("season", "register", str(overlapping))
    assert refused.code == 1 and refused.out == ""
    assert ("entries[0] (until round 3) and entries[1] (from round 3) both declare car #23 "
            "for round 3") in refused.err
    season = tmp_path / "elms-2023.toml"
    season.write_text(SEASON, encoding="utf-8")
    assert paddock("season", "register", str(season)).code == 0
    entry = ("entry", "--championship", ELMS, "--car", "23", "--team", "United Autosports",
             "--class", PRO_AM, "--effective-at", "2023-10-01T00:00:00Z")
    backwards = paddock(*entry, "--from-round", "4", "--until-round", "3")
    assert backwards.code == 1 and "from round 4 is after until round 3" in backwards.err
    done = paddock(*entry, "--from-round", "4")
    assert done.code == 0, done.err
    assert "accepted" in done.out
