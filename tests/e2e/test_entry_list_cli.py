"""The organiser's desk from the command line, as the entry-list office uses it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import SEASONS, CliRunner
from tests.integration.support import elms_file

EVENT = "lemans-2024"


def ok(run: object) -> None:
    assert run.code == 0, (run.out, run.err)


def test_capacity_grants_reserves_publication_and_a_decline(paddock: CliRunner) -> None:
    ok(paddock("demo"))
    ok(paddock("season", "register", str(SEASONS / "wec-2024.toml")))
    ok(paddock("organiser", "capacity", EVENT, "--class", "LMP2", "--places", "7",
               "--reason", "a small grid for the test", "--effective-at", "2024-02-01"))
    ok(paddock("invitation", EVENT, "aslms-2023-24/lmp2-champion", "confirmed",
               "--effective-at", "2024-02-13T12:00:00Z"))
    ok(paddock("organiser", "grant", EVENT, "--class", "LMP2", "--team", "Committee Team",
               "--car", "C1", "--ref", "SC-1", "--effective-at", "2024-02-16"))
    ok(paddock("organiser", "reserves", EVENT, "--class", "LMP2", "--reserve", "Reserve One#R1",
               "--reserve", "Reserve Two#R2", "--effective-at", "2024-02-18"))
    ok(paddock("organiser", "publish", EVENT, "--note", "provisional", "--effective-at",
               "2024-02-19T12:00:00+01:00"))
    ok(paddock("invitation", EVENT, "aslms-2023-24/lmp2-champion", "declined",
               "--reason", "no car", "--effective-at", "2024-03-08T10:00:00+01:00"))
    ok(paddock("organiser", "publish", EVENT, "--effective-at", "2024-03-12T12:00:00+01:00"))

    first = paddock("entry-list", EVENT, "--published", "1")
    ok(first)
    assert "entry list version 1 as published (provisional)" in first.out
    assert "LMP2: 2 of 7 places, 5 pending" in first.out  # routes still without a holder
    assert "#4 CrowdStrike Racing by APR" in first.out and "R1  #R1 Reserve One" in first.out
    data = paddock("entry-list", EVENT, "--published", "2", "--json").json()
    lmp2 = next(c for c in data["classes"] if c["class"] == "LMP2")
    assert [x["car"] for x in lmp2["entries"]] == ["C1", "R1"]
    assert [x["car"] for x in lmp2["reserves"]] == ["R2"]
    hyper = next(c for c in data["classes"] if c["class"] == "Hypercar")
    assert len(hyper["entries"]) == 19  # the WEC's full-season Hypercars
    diff = paddock("entry-list", EVENT, "--diff", "1", "2")
    ok(diff)
    assert "+ #R1 Reserve One: reserve #1 in LMP2, promoted to a free place" in diff.out
    assert "− #4 CrowdStrike Racing by APR: declined: its place is free" in diff.out


def test_bad_organiser_input_is_named(paddock: CliRunner) -> None:
    ok(paddock("demo"))
    cases = [
        (["organiser", "capacity", EVENT, "--class", "GT3", "--places", "3", "--effective-at",
          "2024-02-01"], "no class 'GT3'"),
        (["organiser", "reserves", EVENT, "--class", "LMP2", "--reserve", "no car number",
          "--effective-at", "2024-02-01"], "give TEAM#CAR"),
        (["entry-list", EVENT, "--published", "1"], "no published entry list version 1"),
        (["entry-list", EVENT, "--published", "1", "--as-of", "2024-02-01"], "fixes both times"),
        (["entry-list", "nope"], "unknown target event 'nope'"),
    ]
    for args, message in cases:
        run = paddock(*args)
        assert run.code == 1 and message in run.err, (args, run.err)


def test_the_demo_shows_the_le_mans_desk(paddock: CliRunner) -> None:
    run = paddock("demo", "--lemans")
    ok(run)
    assert "=== Le Mans 2024 entry list, version 1 as published on 19 Feb 2024 ===" in run.out
    assert "Hypercar: 23 of 23 places" in run.out and "LMP2: 16 of 16 places" in run.out
    assert "LMGT3: 22 of 23 places, 1 pending" in run.out
    assert "− #E4 ELMS LMP3 Champion (synthetic): declined: its place is free" in run.out
    assert "− #88 Triple Eight (pending): sro-aco-2023/joint-gt-asia now goes to #91 Pure Rxcing" in run.out
    again = paddock("demo", "--lemans")
    ok(again)
    assert "Le Mans desk: 0 new facts recorded" in again.err


def test_a_route_declared_in_a_second_file_is_refused_naming_both(paddock: CliRunner,
                                                                  tmp_path: Path) -> None:
    """Issue 9 item 14: the ELMS file declares a route the Le Mans file already declares."""
    ok(paddock("demo"))
    pinned = ("--as-of", "2024-06-01T00:00:00Z", "--known-at", "2030-01-01T00:00:00Z", "--json")
    before = [paddock(view, EVENT, *pinned).out for view in ("invitations", "entry-list")]
    refused = paddock("season", "register", str(elms_file(tmp_path)))
    assert refused.code == 1 and refused.out == ""
    assert "route 'elms-2023/lmp2-champion'" in refused.err
    assert "file:lemans-2024.toml" in refused.err and "file:elms-2023.toml" in refused.err
    after = [paddock(view, EVENT, *pinned).out for view in ("invitations", "entry-list")]
    assert after == before
    assert [r["route"] for r in json.loads(after[0])["routes"]].count("elms-2023/lmp2-champion") == 1
    ok(paddock("season", "register", str(elms_file(tmp_path, with_route=False))))
