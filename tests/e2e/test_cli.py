"""The CLI as a user runs it: demo, queries on both time axes, recording facts, bad input."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import SEASONS, CliRunner

ASLMS = "aslms-2023-24"
FILES = SEASONS / ASLMS


def rows(view: dict, class_id: str) -> list[tuple[int, str, object, str | None]]:
    cls = next(c for c in view["classes"] if c["class"] == class_id)
    return [(r["position"], r["car"], r["points"], r["tie"]) for r in cls["rows"]]


def test_demo_loads_the_season_prints_tables_and_is_idempotent(paddock: CliRunner) -> None:
    first = paddock("demo")
    assert first.code == 0, first.err
    assert "21 new facts recorded" in first.err
    assert "R5 at the flag" in first.out
    assert re.search(r"^\s*1\s+#4\s+CrowdStrike Racing by APR\s.*\s83\s*$", first.out, re.MULTILINE)
    assert re.search(r"^\s*1=\s+#17\s+COOL Racing\s.*\s101\s+tie$", first.out, re.MULTILINE)
    second = paddock("demo")
    assert second.code == 0
    assert "0 new facts recorded, 21 already there" in second.err
    assert second.out.split("explore:")[0].count("#91") == first.out.split("explore:")[0].count("#91")


def test_demo_without_a_store_keeps_its_log_in_paddock_db_for_the_next_commands(
        paddock: CliRunner, tmp_path: Path) -> None:
    """`make demo` then `paddock standings` in the same directory: the default store both use."""
    first = paddock("demo", "--lemans", store_url=None)
    assert first.code == 0, first.err
    assert "event log: sqlite:///paddock.db" in first.err
    assert (tmp_path / "paddock.db").exists()
    second = paddock("demo", "--lemans", "--json", store_url=None)
    assert second.code == 0, second.err
    assert second.json()["store"] == "sqlite:///paddock.db"
    assert {o["status"] for o in second.json()["outcomes"]} == {"duplicate"}
    again = paddock("demo", "--lemans", store_url=None)
    assert "0 new facts recorded, 21 already there" in again.err
    assert "Le Mans desk: 0 new facts recorded" in again.err
    standings = paddock("standings", ASLMS, "--class", "LMP2", "--json", store_url=None)
    assert standings.code == 0, standings.err
    assert rows(standings.json(), "LMP2")[0] == (1, "4", 83, None)


def test_standings_json_final_and_at_the_flag(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    final = paddock("standings", ASLMS, "--json").json()
    assert rows(final, "LMP2")[:3] == [(1, "4", 83, None), (2, "22", 71, None), (3, "99", 70, None)]
    assert rows(final, "GT")[:2] == [(1, "91", 76, None), (2, "88", 74, None)]
    assert rows(final, "LMP3")[:2] == [(1, "2", 101, "unresolved"), (1, "17", 101, "unresolved")]
    at_flag = paddock("standings", ASLMS, "--class", "GT", "--as-of", "2024-02-11T19:00:00+04:00",
                      "--json").json()
    assert [c["class"] for c in at_flag["classes"]] == ["GT"]
    assert rows(at_flag, "GT")[:2] == [(1, "91", 73, None), (2, "88", 67, None)]


def test_invitations_json_provisional_then_earned(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    early = {r["route"]: r for r in paddock("invitations", "lemans-2024", "--as-of", "2024-02-05",
                                             "--json").json()["routes"]}
    assert early["aslms-2023-24/lmp2-champion"]["status"] == "provisional"
    assert early["aslms-2023-24/lmp2-champion"]["holder"]["car"] == "99"
    final = {r["route"]: r for r in paddock("invitations", "lemans-2024", "--json").json()["routes"]}
    assert final["aslms-2023-24/lmp2-champion"]["holder"]["team"] == "CrowdStrike Racing by APR"
    assert final["aslms-2023-24/gt-champion"]["holder"]["car"] == "91"
    assert final["aslms-2023-24/gt-champion"]["target_class"] == "LMGT3"
    text = paddock("invitations", "lemans-2024")
    assert re.search(r"aslms-2023-24/lmp2-champion\s+LMP2\s+invitation\s+earned\s+#4 CrowdStrike", text.out)


def test_history_lists_facts_with_both_times(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    view = paddock("history", ASLMS, "--car", "19", "--json").json()
    penalty = [e for e in view["events"] if e["kind"] == "decision_imposed"]
    assert len(penalty) == 1
    assert penalty[0]["effective_at"] == "2024-02-11T17:00:00Z"
    assert penalty[0]["recorded_at"] > "2026"
    text = paddock("history", ASLMS)
    assert "Effective at" in text.out and "Recorded at" in text.out


def test_known_at_shows_what_was_known_before_a_later_import(paddock: CliRunner) -> None:
    assert paddock("season", "register", str(SEASONS / f"{ASLMS}.toml")).code == 0
    assert paddock("import", "alkamel", str(FILES / "R1_sepang_2023-12-02_race1_hour4.csv"),
                   "--championship", ASLMS, "--round", "1").code == 0
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    assert paddock("import", "alkamel", str(FILES / "R2_sepang_2023-12-03_race2_hour4.csv"),
                   "--championship", ASLMS, "--round", "2").code == 0
    then = paddock("standings", ASLMS, "--class", "LMP2", "--known-at", between, "--json").json()
    now = paddock("standings", ASLMS, "--class", "LMP2", "--json").json()
    assert rows(then, "LMP2")[0][:3] == (1, "99", 25)
    assert rows(now, "LMP2")[0][:3] == (1, "99", 43)
    assert [r["status"] for r in then["rounds"]][:2] == ["official", "not published"]


def steward_seed(paddock: CliRunner, tmp_path: Path) -> str:
    """A steward's key made and registered as an operator would; returns the seed file."""
    seed = tmp_path / "steward.nk"
    made = paddock("keys", "generate", "--out", str(seed), "--json")
    assert made.code == 0, made.err
    registered = paddock("keys", "register", made.json()["public_key"], "--person", "Jane Steward",
                         "--role", "steward")
    assert registered.code == 0, registered.err
    return str(seed)


def test_penalty_then_rescind_from_the_cli(paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo").code == 0
    seed = steward_seed(paddock, tmp_path)
    imposed = paddock("penalty", "impose", "--championship", ASLMS, "--round", "5", "--car", "91",
                      "--kind", "dsq", "--ref", "R5-doc-99", "--reason", "technical",
                      "--effective-at", "2024-03-01T12:00:00Z", "--sign-with", seed)
    assert imposed.code == 0, imposed.err
    assert imposed.out.startswith("accepted: ")
    assert rows(paddock("standings", ASLMS, "--class", "GT", "--json").json(), "GT")[0][1] == "88"
    rescinded = paddock("penalty", "rescind", "--championship", ASLMS, "--round", "5", "--ref",
                        "R5-doc-99", "--reason", "appeal upheld", "--effective-at",
                        "2024-04-01T12:00:00Z", "--sign-with", seed)
    assert rescinded.code == 0, rescinded.err
    assert rows(paddock("standings", ASLMS, "--class", "GT", "--json").json(), "GT")[0][:3] == (1, "91", 76)
    during = paddock("standings", ASLMS, "--class", "GT", "--as-of", "2024-03-15", "--json").json()
    assert rows(during, "GT")[0][1] == "88"
    again = paddock("penalty", "rescind", "--championship", ASLMS, "--round", "5", "--ref",
                    "R5-doc-99", "--effective-at", "2024-04-01T12:00:00Z", "--sign-with", seed)
    assert again.code == 0 and again.out.startswith("duplicate: ")


@pytest.mark.slow(8)
def test_bad_input_is_rejected_specifically_and_changes_nothing(paddock: CliRunner, tmp_path: Path) -> None:
    assert paddock("demo").code == 0
    seed = steward_seed(paddock, tmp_path)
    before = paddock("history", ASLMS, "--json").json()["log_position"]
    broken = tmp_path / "broken.csv"
    lines = (FILES / "R3_dubai_2024-02-04_race_hour4.csv").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace(",Classified,", ",Classified,ten,", 1).replace(",ten,119,", ",ten,")
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cases = [
        (["import", "alkamel", str(broken), "--championship", ASLMS, "--round", "3"], "broken.csv:5"),
        (["import", "alkamel", str(FILES / "R3_dubai_2024-02-04_race_hour4.csv"), "--championship",
          "nope", "--round", "3"], "unknown championship 'nope'"),
        (["import", "alkamel", str(FILES / "R3_dubai_2024-02-04_race_hour4.csv"), "--championship",
          ASLMS, "--round", "9"], "no round 9"),
        (["standings", ASLMS, "--as-of", "2024-02-31"], "--as-of: '2024-02-31' is not a date"),
        (["standings", ASLMS, "--as-of", "2024-02-11T10:00:00"], "has no timezone"),
        (["penalty", "impose", "--championship", ASLMS, "--round", "5", "--car", "777", "--kind",
          "time", "--seconds", "5", "--effective-at", "2024-02-12T10:00:00Z", "--sign-with", seed],
         "car #777"),
        (["penalty", "impose", "--championship", ASLMS, "--round", "5", "--car", "3", "--kind",
          "time", "--effective-at", "2024-02-12T10:00:00Z", "--sign-with", seed],
         "--kind time needs --seconds"),
        (["penalty", "impose", "--championship", ASLMS, "--round", "5", "--car", "3", "--kind",
          "time", "--seconds", "5", "--effective-at", "2024-02-12T10:00:00Z"],
         "must be signed with the deciding person's registered key"),
        (["penalty", "impose", "--championship", ASLMS, "--round", "5", "--car", "3", "--kind",
          "time", "--seconds", "5", "--effective-at", "2024-02-12T10:00:00Z", "--sign-with",
          str(tmp_path / "missing.csv")], "cannot read the signing seed file"),
        (["invitation", "lemans-2024", "aslms-2023-24/gt-champion", "accepted", "--effective-at",
          "2024-02-20T10:00:00Z"], "cannot go from not yet confirmed to accepted"),
        (["import", "alkamel", str(tmp_path / "missing.csv"), "--championship", ASLMS, "--round", "3"],
         "cannot read file"),
    ]
    for args, message in cases:
        run = paddock(*args)
        assert run.code == 1, (args, run.out, run.err)
        assert message in run.err, (args, run.err)
        assert "Traceback" not in run.err
    assert paddock("history", ASLMS, "--json").json()["log_position"] == before


def test_bad_store_url_is_a_clear_error(paddock: CliRunner) -> None:
    run = paddock("standings", ASLMS, store_url="mysql://x")
    assert run.code == 1
    assert "unknown scheme" in run.err and "sqlite:///" in run.err


def test_audit_explain_sums_to_the_standings(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    text = paddock("audit", "explain", ASLMS, "--car", "91")
    assert text.code == 0, text.err
    assert "= 76 in the standings" in text.out
    assert "R5-car19-max-drive-time" in text.out
    view = paddock("audit", "explain", ASLMS, "--car", "17", "--json").json()
    (block,) = view["classes"]
    assert block["points"] == block["sum_of_lines"] == 101
    missing = paddock("audit", "explain", ASLMS, "--car", "777")
    assert missing.code == 1 and "car #777" in missing.err


def test_audit_diff_and_timeline_from_the_cli(paddock: CliRunner) -> None:
    assert paddock("demo").code == 0
    diff = paddock("audit", "diff", ASLMS, "--from", "2024-02-11T19:00:00+04:00",
                   "--to", "2024-02-11T21:30:00+04:00")
    assert diff.code == 0, diff.err
    assert re.search(r"GT\s+#88\s+Triple Eight\s+P2 67 pts\s+P2 74 pts\s+@\d+ decision R5-car19", diff.out)
    timeline = paddock("audit", "timeline", ASLMS, "--json").json()
    assert timeline["retroactive"] == len(timeline["facts"]) > 0  # the demo is a backfill
    wrong = paddock("audit", "diff", ASLMS, "--from", "2024-03-01", "--to", "2024-02-01")
    assert wrong.code == 1 and "before --from" in wrong.err
