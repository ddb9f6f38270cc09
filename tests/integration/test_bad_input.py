"""Bad input never changes state: each case raises its specific error and appends nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.decisions import DecisionKind, DecisionTerms
from domain.errors import (
    ConflictingFactError,
    InvalidInputError,
    InvalidTransitionError,
    PaddockError,
    TimeOrderError,
    UnknownChampionshipError,
    UnknownClassError,
    UnknownRoundError,
    UnknownTargetEventError,
)
from projections.canonical import canonical_json
from services.demo import (
    ASLMS,
    DEMO_OFFICIAL,
    DEMO_STEWARD,
    LEMANS,
    OFFICIAL_FILES,
    R5_DECIDED,
    SEASONS,
)
from services.importing import import_alkamel_file, register_season
from services.ledger import Ledger
from services.outcome import DUPLICATE

from .support import SEASON_DIR, at, write_copy

R1 = SEASON_DIR / OFFICIAL_FILES[1]
LMP2_ROUTE = "aslms-2023-24/lmp2-champion"
CLASS, LAPS, POSITION = 9, 13, 0  # column indexes of the Al Kamel header


def rejects(ledger: Ledger, error: type[PaddockError], match: str,
            command: Callable[[], Any]) -> PaddockError:
    """Run a command that must fail; check the log and the views did not change."""
    head = ledger.head()
    views = _views(ledger) if head else None
    with pytest.raises(error, match=match) as info:
        command()
    assert type(info.value) is error, f"expected exactly {error.__name__}, got {info.value!r}"
    assert ledger.head() == head
    if head:
        assert _views(ledger) == views
    return info.value


def _views(ledger: Ledger) -> str:
    return canonical_json([ledger.standings(ASLMS), ledger.invitations(LEMANS),
                           ledger.history(ASLMS)])


def set_field(line_number: int, column: int, value: str) -> Callable[[list[str]], list[str]]:
    def change(lines: list[str]) -> list[str]:
        fields = lines[line_number - 1].split(",")
        fields[column] = value
        lines[line_number - 1] = ",".join(fields)
        return lines
    return change


def import_r1(ledger: Ledger, path: Path = R1, *, championship: str = ASLMS, number: int = 1,
              status: str = "official", published_at: datetime | None = None) -> Any:
    return import_alkamel_file(ledger, path, championship=championship, round_number=number,
                               status=status, published_at=published_at, actor="test")


# -- championships, rounds, classes ------------------------------------------------------------

def test_unknown_championship(demo: Ledger) -> None:
    err = rejects(demo, UnknownChampionshipError, "unknown championship 'elms-2099'",
                  lambda: import_r1(demo, championship="elms-2099"))
    assert "known: aslms-2023-24" in err.message
    assert "paddock season register" in err.message


def test_unknown_round_names_the_known_rounds(demo: Ledger) -> None:
    err = rejects(demo, UnknownRoundError, "has no round 6",
                  lambda: import_r1(demo, number=6))
    assert "(rounds: 1, 2, 3, 4, 5)" in err.message


def test_unknown_class_in_a_classification_file(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_lmp1.csv", set_field(3, CLASS, "LMP1"))
    err = rejects(demo, UnknownClassError, "class 'LMP1'", lambda: import_r1(demo, bad))
    assert "car #83 (position 2)" in err.message
    assert "LMP2, LMP3, GT" in err.message
    assert err.where == "alkamel:R1_lmp1.csv"


def test_unknown_status(demo: Ledger) -> None:
    rejects(demo, InvalidInputError, "status 'final' is not one of provisional, official",
            lambda: import_r1(demo, status="final"))


# -- malformed files ---------------------------------------------------------------------------

def test_bad_laps_on_line_5_names_the_file_and_line(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_bad_laps.csv", set_field(5, LAPS, "1OO"))
    err = rejects(demo, InvalidInputError, "LAPS", lambda: import_r1(demo, bad))
    assert err.where == "R1_bad_laps.csv:5"
    assert err.message == "LAPS: '1OO' is not a whole number"
    assert str(err).startswith("R1_bad_laps.csv:5: ")


def test_negative_laps(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_neg.csv", set_field(7, LAPS, "-3"))
    err = rejects(demo, InvalidInputError, "must not be negative", lambda: import_r1(demo, bad))
    assert err.where == "R1_neg.csv:7"


def test_duplicate_positions(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_dup.csv", set_field(4, POSITION, "2"))
    err = rejects(demo, InvalidInputError, "out of sequence", lambda: import_r1(demo, bad))
    assert err.where == "R1_dup.csv:4"
    assert "position 2 of car #3" in err.message and "expected 3" in err.message


def test_the_same_car_twice(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_twice.csv", set_field(4, 1, "83"))
    err = rejects(demo, InvalidInputError, "car #83 appears twice", lambda: import_r1(demo, bad))
    assert err.where == "R1_twice.csv:4"


def test_wrong_number_of_fields_and_missing_column(demo: Ledger, tmp_path: Path) -> None:
    short = write_copy(R1, tmp_path / "R1_short.csv",
                       lambda lines: [*lines[:9], lines[9].rsplit(",", 5)[0], *lines[10:]])
    err = rejects(demo, InvalidInputError, "wrong number of fields", lambda: import_r1(demo, short))
    assert err.where == "R1_short.csv:10"

    no_laps = write_copy(R1, tmp_path / "R1_nolaps.csv",
                         lambda lines: [lines[0].replace(",LAPS,", ",LAPZ,"), *lines[1:]])
    err = rejects(demo, InvalidInputError, "missing required column", lambda: import_r1(demo, no_laps))
    assert err.where == "R1_nolaps.csv:1" and "LAPS" in err.message


def test_missing_and_non_utf8_files(demo: Ledger, tmp_path: Path) -> None:
    rejects(demo, InvalidInputError, "cannot read file",
            lambda: import_r1(demo, tmp_path / "nope.csv"))
    latin1 = tmp_path / "R1_latin1.csv"
    latin1.write_bytes(R1.read_text(encoding="utf-8").encode("latin-1"))
    err = rejects(demo, InvalidInputError, "not valid UTF-8", lambda: import_r1(demo, latin1))
    assert err.where == "R1_latin1.csv:2"  # DELÉTRAZ is on the first result row


# -- decisions -----------------------------------------------------------------------------------

def test_conflicting_reuse_of_a_decision_reference(demo: Ledger) -> None:
    other = DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(60))

    def impose(terms: DecisionTerms) -> Any:
        return demo.impose_penalty(ASLMS, 5, terms, reference="R5-car19-max-drive-time",
                                   reason="x", effective_at=R5_DECIDED, signed_by=DEMO_STEWARD, actor="stewards",
                                   source="test")

    err = rejects(demo, ConflictingFactError, "already recorded with other terms",
                  lambda: impose(other))
    assert "R5-car19-max-drive-time" in err.message and "amend or rescind" in err.message
    # the same terms again are a harmless duplicate, not a conflict
    head = demo.head()
    same = DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(106))
    assert impose(same).status == DUPLICATE and demo.head() == head


def test_conflicting_reuse_of_a_tie_reference(demo: Ledger) -> None:
    def tie(order: list[str]) -> Any:
        return demo.resolve_tie(ASLMS, "LMP3", order, reference="lmp3-tie", reason="x",
                                effective_at=at("2024-02-15T12:00:00+04:00"), signed_by=DEMO_OFFICIAL, actor="aslms",
                                source="test")

    assert tie(["17", "2"]).accepted
    head = demo.head()
    assert tie(["17", "2"]).status == DUPLICATE and demo.head() == head
    err = rejects(demo, ConflictingFactError, "lmp3-tie is already recorded",
                  lambda: tie(["2", "17"]))
    assert "another class or order" in err.message
    lmp3 = demo.standings(ASLMS, class_id="LMP3")["classes"][0]["rows"]
    assert [(r["position"], r["car"]) for r in lmp3[:2]] == [(1, "17"), (2, "2")]


def test_a_different_pole_at_the_same_time_is_a_conflict(demo: Ledger) -> None:
    def pole(car: str, effective_at: datetime | None = None) -> Any:
        return demo.record_pole(ASLMS, 1, "LMP3", car, effective_at=effective_at, actor="t",
                                source="test")

    qualifying = at("2023-12-02T10:15:00+08:00")  # when the demo's R1 LMP3 pole holds from
    err = rejects(demo, ConflictingFactError, "R1 LMP3 pole is already #20",
                  lambda: pole("17", qualifying))
    assert "its own (later) effective_at" in err.message
    # a correction with its own time is accepted and takes over
    assert pole("17", at("2023-12-02T18:00:00+08:00")).accepted
    view = demo.standings(ASLMS)
    assert view["rounds"][0]["poles"]["LMP3"] == "17"
    lmp3 = {r["car"]: r["points"] for r in view["classes"][1]["rows"]}
    assert (lmp3["17"], lmp3["2"], lmp3["20"]) == (102, 101, 54)


def test_a_corrected_classification_needs_its_publication_time(
    demo: Ledger, tmp_path: Path
) -> None:
    """Without --published-at a corrected R1 would take the flag time of the original, and
    which of the two is in force would depend on their digests."""
    corrected = write_copy(R1, tmp_path / "R1_corrected.csv", set_field(2, LAPS, "97"))
    err = rejects(demo, ConflictingFactError, "already has a different official classification",
                  lambda: import_r1(demo, corrected))
    assert "--published-at" in err.message and "round 1" in err.message
    out = import_r1(demo, corrected, published_at=at("2023-12-05T12:00:00+08:00"))
    assert out.accepted
    view = demo.standings(ASLMS)
    assert view["rounds"][0]["published_at"] == at("2023-12-05T12:00:00+08:00")
    before = demo.standings(ASLMS, as_of=at("2023-12-04T00:00:00+08:00"))
    assert before["rounds"][0]["published_at"] == at("2023-12-02T17:00:00+08:00")


def test_malformed_decision_terms() -> None:
    with pytest.raises(InvalidInputError, match="needs a positive seconds"):
        DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(0))
    with pytest.raises(InvalidInputError, match="takes no laps"):
        DecisionTerms(DecisionKind.TIME_PENALTY, "19", seconds=Decimal(5), laps=1)


# -- invitations ---------------------------------------------------------------------------------

def transition(ledger: Ledger, status: str, effective_at: str, *, route: str = LMP2_ROUTE,
               event: str = LEMANS) -> Any:
    return ledger.transition_invitation(event, route, status, holder=None, reason="",
                                        effective_at=at(effective_at), actor="aco", source="test")


def test_accepted_before_confirmed(demo: Ledger) -> None:
    err = rejects(demo, InvalidTransitionError, "cannot go from not yet confirmed to accepted",
                  lambda: transition(demo, "accepted", "2024-02-19T12:00:00+01:00"))
    assert "allowed next: confirmed" in err.message
    assert err.where == f"invitation {LEMANS}/{LMP2_ROUTE}"


def test_confirming_a_provisional_holder(demo: Ledger) -> None:
    err = rejects(demo, InvalidInputError, "no earned holder to confirm",
                  lambda: transition(demo, "confirmed", "2024-02-05T00:00:00+04:00"))
    assert "status provisional" in err.message
    assert "name the holder explicitly" in err.message


def test_invitation_lifecycle_errors_after_a_confirmation(demo: Ledger) -> None:
    assert transition(demo, "confirmed", "2024-02-19T12:00:00+01:00").accepted
    rejects(demo, InvalidTransitionError, "cannot go from confirmed to confirmed",
            lambda: transition(demo, "confirmed", "2024-02-20T12:00:00+01:00"))
    rejects(demo, TimeOrderError, "before the previous decision",
            lambda: transition(demo, "accepted", "2024-02-18T12:00:00+01:00"))
    rejects(demo, InvalidTransitionError, "'earned' is not an invitation status",
            lambda: transition(demo, "earned", "2024-02-20T12:00:00+01:00"))
    rejects(demo, InvalidInputError, "a reallocation names the new holder",
            lambda: transition(demo, "reallocated", "2024-02-20T12:00:00+01:00"))
    err = rejects(demo, InvalidInputError, "has no invitation route 'aslms-2023-24/lmp3'",
                  lambda: transition(demo, "confirmed", "2024-02-20T12:00:00+01:00",
                                     route="aslms-2023-24/lmp3"))
    assert LMP2_ROUTE in err.message
    rejects(demo, UnknownTargetEventError, "unknown target event 'lemans-2025'",
            lambda: transition(demo, "confirmed", "2024-02-20T12:00:00+01:00",
                               event="lemans-2025"))
    view = demo.invitations(LEMANS)
    lmp2 = next(r for r in view["routes"] if r["route"] == LMP2_ROUTE)
    assert lmp2["status"] == "confirmed" and lmp2["holder"]["car"] == "4"
    assert lmp2["since"] == at("2024-02-19T12:00:00+01:00")


# -- times ---------------------------------------------------------------------------------------

def test_naive_datetimes_are_refused(demo: Ledger) -> None:
    naive = datetime(2024, 2, 11, 21, 0)
    terms = DecisionTerms(DecisionKind.TIME_PENALTY, "88", seconds=Decimal(5))
    err = rejects(demo, InvalidInputError, "effective_at: '2024-02-11T21:00:00' has no timezone",
                  lambda: demo.impose_penalty(ASLMS, 5, terms, reference=None, reason="x",
                                              effective_at=naive, signed_by=DEMO_STEWARD, actor="s", source="test"))
    assert "+04:00" in err.message
    rejects(demo, InvalidInputError, "effective_at: .* has no timezone",
            lambda: demo.declare_official(ASLMS, 5, effective_at=naive, actor="s", source="t"))
    rejects(demo, InvalidInputError, "effective_at: .* has no timezone",
            lambda: demo.record_pole(ASLMS, 2, "LMP3", "17", effective_at=naive, actor="s",
                                     source="t"))
    rejects(demo, InvalidInputError, "published_at: .* has no timezone",
            lambda: import_r1(demo, published_at=naive))
    with pytest.raises(InvalidInputError, match="as_of: .* has no timezone"):
        demo.standings(ASLMS, as_of=naive)
    with pytest.raises(InvalidInputError, match="known_at: .* has no timezone"):
        demo.invitations(LEMANS, known_at=naive)


# -- season files --------------------------------------------------------------------------------

BASE_SEASON = (SEASONS / f"{ASLMS}.toml").read_text(encoding="utf-8")


def broken_seasons() -> Iterator[Any]:
    cases = [
        ("unknown-scale", BASE_SEASON.replace("number = 5\n", 'number = 5\nscale = "endurance"\n'),
         r"rounds\[4\]\.scale 'endurance' is not one of \['standard'\]"),
        ("duplicate-class", BASE_SEASON.replace('id = "LMP3"', 'id = "LMP2"'),
         "classes: 'LMP2' is defined twice"),
        ("missing-field", BASE_SEASON.replace('name = "4 Hours of Dubai"\n', ""),
         r"rounds\[2\]\.name: Field required"),
        ("bad-toml", BASE_SEASON.replace('season = "2023/24"', 'season = "2023/24'),
         r"not valid TOML: .*line 8"),
        ("kind-missing", BASE_SEASON.replace('kind = "championship"\n', ""),
         "kind: expected 'championship' or 'target-event', got None"),
        ("naive-flag", BASE_SEASON.replace("2024-02-04T18:00:00+04:00", "2024-02-04T18:00:00"),
         r"rounds\[2\]\.flag_at: Input should have timezone info"),
        ("route-class", BASE_SEASON.replace('class = "GT", position', 'class = "GTX", position'),
         r"invitation_routes\[1\]\.source\.class 'GTX' is not a class id"),
        ("negative-points", BASE_SEASON.replace("pole_points = 1 ", "pole_points = -1 "),
         r"rules\.pole_points: Input should be greater than or equal to 0"),
    ]
    for name, text, match in cases:
        assert text != BASE_SEASON, name
        yield pytest.param(text, match, id=name)


@pytest.mark.parametrize(("text", "match"), list(broken_seasons()))
def test_season_files_with_errors(demo: Ledger, tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "season.toml"
    path.write_text(text, encoding="utf-8")
    err = rejects(demo, InvalidInputError, match,
                  lambda: register_season(demo, path, actor="test"))
    assert err.where == str(path)


def test_the_service_keeps_working_after_rejections(demo: Ledger, tmp_path: Path) -> None:
    bad = write_copy(R1, tmp_path / "R1_bad.csv", set_field(5, LAPS, "x"))
    rejects(demo, InvalidInputError, "LAPS", lambda: import_r1(demo, bad))
    head = demo.head()
    out = demo.record_pole(ASLMS, 2, "LMP3", "17", effective_at=None, actor="t", source="t")
    assert out.accepted
    assert demo.head() == out.positions[-1] > head
