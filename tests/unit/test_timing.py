"""Race times: timing notation ⇄ exact Decimal seconds, and the rule that times carry a zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInputError
from domain.timing import format_race_time, parse_race_time, race_seconds_text, require_aware


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3:43'26.017", Decimal("13406.017")),  # R1 winner's race time
        ("1'52.991", Decimal("112.991")),  # a fastest lap
        ("10.537", Decimal("10.537")),  # a gap
        ("0.380", Decimal("0.380")),
        ("0", Decimal(0)),
        ("59.999", Decimal("59.999")),
        ("75.000", Decimal("75.000")),  # seconds alone may exceed a minute (a gap)
        ("1'05", Decimal(65)),  # a post-race penalty in stewards' notation
        ("0'00.000", Decimal(0)),
        ("1:00'00.000", Decimal(3600)),
        ("24:00'00.000", Decimal(86400)),
        ("100:59'59.999", Decimal("363599.999")),
        ("4:02'01.5", Decimal("14521.5")),
        ("  1'52.991\t", Decimal("112.991")),  # surrounding blanks are ignored
        ("12.123456", Decimal("12.123456")),  # up to six decimals
    ],
)
def test_parse_race_time_gives_exact_seconds(text: str, seconds: Decimal) -> None:
    parsed = parse_race_time(text)
    assert parsed == seconds
    assert isinstance(parsed, Decimal)


def test_parse_race_time_keeps_the_published_precision() -> None:
    assert str(parse_race_time("0.380")) == "0.380"
    assert str(parse_race_time("3:43'26.017")) == "13406.017"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is not a race time"),
        ("   ", "is not a race time"),
        ("abc", "'abc' is not a race time"),
        ("1'75.000", "seconds must be below 60"),
        ("1'60.000", "seconds must be below 60"),
        ("1:61'00.000", "minutes must be below 60"),
        ("1:60'00.000", "minutes must be below 60"),
        ("-1.000", "is not a race time"),
        ("1.2.3", "is not a race time"),
        ("1'2'3", "is not a race time"),
        ("123.000", "is not a race time"),  # three-digit seconds need minutes
        ("1'123.000", "is not a race time"),
        ("1:2:03.000", "is not a race time"),
        ("1,5", "is not a race time"),
        ("1.", "is not a race time"),
        (".5", "is not a race time"),
        ("12.1234567", "is not a race time"),  # more than six decimals
        ("3:43'26.017 laps", "is not a race time"),
    ],
)
def test_parse_race_time_rejects_malformed_text(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_race_time(text)
    assert fragment in str(caught.value)
    assert text.strip() in str(caught.value)


def _decimal_way(text: str) -> str:
    try:
        return str(parse_race_time(text))
    except InvalidInputError as error:
        return f"error: {error}"


def _fast_way(text: str) -> str:
    try:
        return race_seconds_text(text)
    except InvalidInputError as error:
        return f"error: {error}"


RACE_TIME_LIKE = st.one_of(
    st.from_regex(r"\A(\d+:)?(\d{1,2}')?\d{1,2}(\.\d{1,6})?\Z"),  # the contract's pattern
    st.text(alphabet="0123456789:'. \t-٣²", max_size=22),
    st.text(max_size=12),
)


@settings(max_examples=1000, deadline=None)
@given(RACE_TIME_LIKE)
def test_race_seconds_text_is_the_decimal_seconds_as_text(text: str) -> None:
    """What a row record stores: the same text, or the same error, as the Decimal way."""
    assert _fast_way(text) == _decimal_way(text)


@pytest.mark.parametrize("text", [
    "3:43'26.017", "1'52.991", "0", "0.000000", "00.50", "1'00", "99999999999:59'59.999999",
    "123456789012345678901234567890:00'00.1", "1'60.000", "1:60'00", "3:26.017", "١٢.٣٤",
    " 1'52.991", "1'52.991\n", "1.", ".5", "1'2'3", "12.1234567",
])
def test_race_seconds_text_agrees_at_the_edges(text: str) -> None:
    assert _fast_way(text) == _decimal_way(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (Decimal("13406.017"), "3:43'26.017"),
        (Decimal("112.991"), "1'52.991"),
        (Decimal("10.537"), "10.537"),
        (Decimal("0.38"), "0.380"),
        (Decimal(0), "0.000"),
        (Decimal(60), "1'00.000"),
        (Decimal(3600), "1:00'00.000"),
        (Decimal("3599.999"), "59'59.999"),
        (Decimal(86400), "24:00'00.000"),
        (Decimal(-65), "-1'05.000"),
        (Decimal("59.9996"), "1'00.000"),  # rounding carries into the minute
        (Decimal("119.9996"), "2'00.000"),
        (Decimal("3599.9999"), "1:00'00.000"),
        (Decimal("1.0005"), "1.000"),  # half-even, as Decimal rounds by default
        (Decimal("1.0015"), "1.002"),
    ],
)
def test_format_race_time_uses_timing_notation(seconds: Decimal, text: str) -> None:
    assert format_race_time(seconds) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=100_000 * 1000 - 1))
def test_format_then_parse_round_trips_millisecond_times(millis: int) -> None:
    seconds = Decimal(millis).scaleb(-3)
    text = format_race_time(seconds)
    parsed = parse_race_time(text)
    assert parsed == seconds
    assert parsed.as_tuple().exponent == -3  # always three decimals, like the timing sheets
    assert format_race_time(parsed) == text


@settings(max_examples=100, deadline=None)
@given(st.decimals(min_value=0, max_value=99_999, places=6, allow_nan=False,
                   allow_infinity=False))
def test_formatted_times_always_parse_back_within_half_a_millisecond(seconds: Decimal) -> None:
    parsed = parse_race_time(format_race_time(seconds))
    assert abs(parsed - seconds) <= Decimal("0.0005")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 2, 11, 18, 0, tzinfo=UTC),
        datetime(2024, 2, 11, 22, 0, tzinfo=timezone(timedelta(hours=4))),
        datetime.fromisoformat("2023-12-02T17:00:00+08:00"),
    ],
)
def test_require_aware_returns_aware_datetimes_unchanged(value: datetime) -> None:
    assert require_aware(value, field="effective_at") is value


class _NoOffset(tzinfo):
    """A tzinfo that answers no offset: still ambiguous."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "?"

    def dst(self, dt: datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 2, 11, 18, 0),
        datetime.fromisoformat("2024-02-11T18:00:00"),
        datetime(2024, 2, 11, 18, 0, tzinfo=_NoOffset()),
    ],
)
def test_require_aware_rejects_naive_datetimes(value: datetime) -> None:
    with pytest.raises(InvalidInputError) as caught:
        require_aware(value, field="published_at")
    message = str(caught.value)
    assert message.startswith("published_at: '2024-02-11T18:00:00")
    assert "has no timezone" in message
