"""Al Kamel classification parser: the real AsLMS 2023/24 files, both dialects, every error path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.classification import ClassificationRow, ResultStatus
from domain.errors import InvalidInputError
from services.alkamel import parse_alkamel

SEASON = Path(__file__).resolve().parents[2] / "services" / "seasons" / "aslms-2023-24"
R1 = "R1_sepang_2023-12-02_race1_hour4.csv"
R3 = "R3_dubai_2024-02-04_race_hour4.csv"
R5 = "R5_abudhabi_2024-02-11_race2_hour4.csv"
HEADER = (
    "POSITION,NUMBER,TEAM,DRIVER_1,DRIVER_2,DRIVER_3,DRIVER_4,VEHICLE,TYRES,CLASS,GROUP,DIVISION,"
    "STATUS,LAPS,TOTAL_TIME,GAP_FIRST,GAP_PREVIOUS,FL_LAPNUM,FL_TIME,FL_KPH,DRIVER_5,"
)
CAR_1 = (
    "1,99,99 Racing,Ahmad AL HARTHY,Nikita MAZEPIN,Louis DELÉTRAZ,,Oreca 07 - Gibson,M,LMP2,,,"
    "Classified,100,3:43'26.017,,,83,1'52.991,176.6,,"
)
CAR_2 = (
    "2,83,AF Corse,François PERRODO,Matthieu VAXIVIERE,Alessio ROVERA,,Oreca 07 - Gibson,M,LMP2,,,"
    "Classified,100,3:43'36.554,10.537,10.537,41,1'53.380,176.0,,"
)


def _read(name: str) -> bytes:
    return (SEASON / name).read_bytes()


def _csv(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def _portal(comma_file: bytes) -> bytes:
    """What the timing portal serves: `;` separator, trailing `;`, BOM, CRLF (no field has `,`)."""
    lines = comma_file.decode().splitlines()
    return b"\xef\xbb\xbf" + "".join(line.replace(",", ";") + "\r\n" for line in lines).encode()


def _error(data: bytes) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        parse_alkamel(data, source="test.csv")
    return caught.value


# --- the real files ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "count"),
    [
        (R1, 39),
        ("R2_sepang_2023-12-03_race2_hour4.csv", 39),
        (R3, 41),
        ("R4_abudhabi_2024-02-10_race1_hour4.csv", 41),
        (R5, 40),
        ("R5_abudhabi_2024-02-11_race2_at-flag_constructed.csv", 40),
    ],
)
def test_real_files_parse_in_overall_order(name: str, count: int) -> None:
    rows = parse_alkamel(_read(name), source=name)
    assert len(rows) == count
    assert [row.position for row in rows] == list(range(1, count + 1))


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [
        (R1, 0, ClassificationRow(
            position=1, car="99", team="99 Racing", class_name="LMP2",
            drivers=("Ahmad AL HARTHY", "Nikita MAZEPIN", "Louis DELÉTRAZ"),
            vehicle="Oreca 07 - Gibson", status=ResultStatus.CLASSIFIED, laps=100,
            total_time=Decimal("13406.017"), group="",
        )),
        (R3, 0, ClassificationRow(
            position=1, car="99", team="99 Racing", class_name="LMP2",
            drivers=("Ahmad AL HARTHY", "Nikita MAZEPIN", "Louis DELÉTRAZ"),
            vehicle="Oreca 07 - Gibson", status=ResultStatus.CLASSIFIED, laps=119,
            total_time=Decimal("14485.599"), group="",
        )),
        (R3, 39, ClassificationRow(  # two drivers only, no laps, no time
            position=40, car="65", team="Viper Niza Racing", class_name="LMP3",
            drivers=("Douglas KHOO", "Dominic ANG"), vehicle="Ligier JS P320 - Nissan",
            status=ResultStatus.NOT_CLASSIFIED, laps=0, total_time=None, group="",
        )),
        (R5, 38, ClassificationRow(  # a time in m'ss.mmm only
            position=39, car="58", team="GG Classic Cars", class_name="LMP3",
            drivers=("Fraser ROSS", "George NAKAS"), vehicle="Ligier JS P320 - Nissan",
            status=ResultStatus.NOT_CLASSIFIED, laps=1, total_time=Decimal("196.811"), group="",
        )),
    ],
)
def test_rows_are_read_exactly(name: str, index: int, expected: ClassificationRow) -> None:
    assert parse_alkamel(_read(name), source=name)[index] == expected


def test_utf8_names_survive() -> None:
    rows = parse_alkamel(_read(R1), source=R1)
    drivers = {driver for row in rows for driver in row.drivers}
    assert {"Louis DELÉTRAZ", "Laurents HÖRR", "François PERRODO"} <= drivers


@pytest.mark.parametrize("name", [R1, R3, R5])
def test_portal_dialect_parses_like_the_shared_copy(name: str) -> None:
    comma = _read(name)
    portal = _portal(comma)
    assert portal.startswith(b"\xef\xbb\xbfPOSITION;NUMBER;") and b";\r\n" in portal
    assert b"," not in portal
    assert parse_alkamel(portal, source=name) == parse_alkamel(comma, source=name)


# --- tolerated variations ------------------------------------------------------------------

def test_columns_are_found_by_name_in_any_order_and_extras_are_ignored() -> None:
    data = _csv(
        "EXTRA,DRIVER_2,STATUS,LAPS,TOTAL_TIME,CLASS,TEAM,NUMBER,POSITION,DRIVER_1,GROUP",
        "x,Bob B,Retired,3,5'01.5,GT,Team A, 007 ,1,Al A,Am",
        "y,,dnf,0,,GT,Team B,7,2,Cy C,",
    )
    rows = parse_alkamel(data, source="test.csv")
    assert rows == (
        ClassificationRow(1, "007", "Team A", "GT", ("Al A", "Bob B"), "",
                          ResultStatus.RETIRED, 3, Decimal("301.5"), "Am"),
        ClassificationRow(2, "7", "Team B", "GT", ("Cy C",), "",
                          ResultStatus.RETIRED, 0, None, ""),
    )


def test_blank_lines_and_missing_trailing_separator_are_accepted() -> None:
    data = _csv("", HEADER, "", CAR_1, "   ", CAR_2.removesuffix(","), "")
    rows = parse_alkamel(data, source="test.csv")
    assert [row.car for row in rows] == ["99", "83"]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Classified", ResultStatus.CLASSIFIED),
        ("CLASSIFIED", ResultStatus.CLASSIFIED),
        ("Not classified", ResultStatus.NOT_CLASSIFIED),
        ("Not Classified", ResultStatus.NOT_CLASSIFIED),
        ("NC", ResultStatus.NOT_CLASSIFIED),
        ("Retired", ResultStatus.RETIRED),
        ("DNF", ResultStatus.RETIRED),
        ("DNS", ResultStatus.DID_NOT_START),
        ("Did not start", ResultStatus.DID_NOT_START),
        ("Not started", ResultStatus.DID_NOT_START),
        ("Disqualified", ResultStatus.DISQUALIFIED),
        ("dsq", ResultStatus.DISQUALIFIED),
        ("Excluded", ResultStatus.EXCLUDED),
        ("EXC", ResultStatus.EXCLUDED),
    ],
)
def test_statuses_map_case_insensitively(text: str, status: ResultStatus) -> None:
    rows = parse_alkamel(_csv(HEADER, CAR_1.replace(",Classified,", f",{text},")), source="t")
    assert rows[0].status is status


def test_a_not_classified_car_may_have_laps_but_no_time() -> None:
    line = CAR_1.replace("Classified,100,3:43'26.017", "Not classified,100,")
    assert parse_alkamel(_csv(HEADER, line), source="t")[0].total_time is None


# --- unhappy paths -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        pytest.param(
            _csv(HEADER.replace("STATUS,", "STATE,").replace("LAPS,", ""), CAR_1),
            "test.csv:1", ["missing", "STATUS, LAPS", "found:", "STATE"],
            id="missing-columns",
        ),
        pytest.param(
            _csv(HEADER, CAR_1, CAR_2.replace(",Classified,", ",Finished,")),
            "test.csv:3", ["STATUS", "'Finished'", "accepted", "Not classified", "DSQ"],
            id="bad-status",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace(",100,", ",ten,")),
            "test.csv:2", ["LAPS: 'ten' is not a whole number"],
            id="non-numeric-laps",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace(",100,", ",-1,")),
            "test.csv:2", ["LAPS: '-1' must not be negative"],
            id="negative-laps",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace("1,99,", "P1,99,", 1)),
            "test.csv:2", ["POSITION: 'P1' is not a whole number"],
            id="non-numeric-position",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace("1,99,", "1, ,", 1)),
            "test.csv:2", ["NUMBER", "empty"],
            id="empty-car-number",
        ),
        pytest.param(
            _csv(HEADER, CAR_1, CAR_2.replace("3:43'36.554", "3:43'76.554")),
            "test.csv:3", ["TOTAL_TIME", "3:43'76.554", "below 60"],
            id="bad-time-seconds",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace("3:43'26.017", "3h43")),
            "test.csv:2", ["TOTAL_TIME", "'3h43'", "not a race time"],
            id="bad-time-shape",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace("3:43'26.017", "")),
            "test.csv:2", ["TOTAL_TIME", "classified", "100 laps", "needs a total time"],
            id="classified-without-time",
        ),
        pytest.param(
            _csv(HEADER, CAR_1, CAR_2.replace(",83,", ",99,", 1)),
            "test.csv:3", ["car #99 appears twice", "positions 1 and 2"],
            id="duplicate-car",
        ),
        pytest.param(
            _csv(HEADER, CAR_1, CAR_2.replace("2,", "3,", 1)),
            "test.csv:3", ["position 3", "out of sequence", "expected 2"],
            id="position-gap",
        ),
        pytest.param(
            _csv(HEADER, CAR_1, CAR_2.replace("2,", "1,", 1)),
            "test.csv:3", ["position 1", "out of sequence", "expected 2"],
            id="position-repeat",
        ),
        pytest.param(
            _csv(HEADER, "", CAR_1, CAR_2.replace(",Classified,", ",Classified,extra,")),
            "test.csv:4", ["wrong number of fields", "expected 21", "found 23"],
            id="too-many-fields",
        ),
        pytest.param(
            _csv(HEADER, "1,99,99 Racing"),
            "test.csv:2", ["wrong number of fields", "expected 21", "found 3"],
            id="too-few-fields",
        ),
        pytest.param(
            _csv(HEADER, CAR_1.replace("99 Racing", '"99 Racing')),
            "test.csv:2", ["malformed line"],
            id="unterminated-quote",
        ),
        pytest.param(b"", "test.csv:1", ["empty file", "no result rows"], id="empty-file"),
        pytest.param(b"\r\n \n", "test.csv:1", ["empty file"], id="blank-lines-only"),
        pytest.param(_csv(HEADER), "test.csv:1", ["no result rows"], id="header-only"),
        pytest.param(
            _csv(HEADER) + b"1,99,99 Racing,Louis DEL\xc9TRAZ\n",
            "test.csv:2", ["not valid UTF-8", "\\xc9"],
            id="invalid-utf8",
        ),
    ],
)
def test_errors_name_the_line_the_field_and_the_value(
    data: bytes, where: str, words: list[str]
) -> None:
    error = _error(data)
    assert error.where == where
    for word in words:
        assert word in error.message


def test_portal_dialect_errors_count_physical_lines() -> None:
    portal = _portal(_csv(HEADER, CAR_1, CAR_2.replace(",100,", ",ten,")))
    error = _error(portal)
    assert error.where == "test.csv:3"
    assert "LAPS: 'ten' is not a whole number" in error.message


# -- bounds shared with the NATS contracts (issue 9 item 7) ------------------------------------

HOSTILE_CARS = ["\u200b91", "\uff19\uff11", "\u0669\u0661", "<b>9</b>", "../9", "12345", "9 1", "A", ""]


@pytest.mark.parametrize("car", HOSTILE_CARS, ids=[ascii(c) for c in HOSTILE_CARS])
def test_a_car_number_refused_in_a_file_is_refused_on_nats(car: str) -> None:
    from pydantic import ValidationError

    from services.contracts import PolePositionV1

    line = CAR_1.replace("1,99,", f"1,{car},", 1)
    with pytest.raises(InvalidInputError, match="NUMBER: ") as error:
        parse_alkamel(_csv(HEADER, line), source="x.csv")
    assert error.value.where == "x.csv:2"
    with pytest.raises(ValidationError):
        PolePositionV1.model_validate({"championship": "x", "round": 1, "class": "GT", "car": car})


def test_car_numbers_as_timing_systems_write_them_are_accepted() -> None:
    for car in ("7", "91", "777", "1234", "2A"):
        (row,) = parse_alkamel(_csv(HEADER, CAR_1.replace("1,99,", f"1,{car},", 1)), source="x.csv")
        assert row.car == car


def test_a_huge_file_is_refused_without_being_parsed(tmp_path: Path) -> None:
    """100,000 rows (15 MB): refused from the first 2 MB read, in well under a second."""
    import time

    from services.importing import read_bytes

    path = tmp_path / "huge.csv"
    path.write_bytes(_csv(HEADER, *[CAR_1] * 100_000))
    started = time.perf_counter()
    data = read_bytes(path)
    with pytest.raises(InvalidInputError, match="larger than 2048 KB"):
        parse_alkamel(data, source="huge.csv")
    assert time.perf_counter() - started < 1.0
    assert len(data) == 2 * 1024 * 1024 + 1


def test_row_301_stops_the_read() -> None:
    rows = [CAR_1.replace("1,99,", f"{n},{n},", 1) for n in range(1, 302)]
    with pytest.raises(InvalidInputError, match="more than 300 result rows") as error:
        parse_alkamel(_csv(HEADER, *rows), source="x.csv")
    assert error.value.where == "x.csv:302"
