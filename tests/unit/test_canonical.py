"""Canonical JSON (projections/canonical.py): the one-pass encoder gives the bytes of the
reference, `json.dumps(to_plain(value), sort_keys=True, ...)`, for every value a view holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.canonical import canonical_json, to_plain


def reference(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
)
views = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=30)


@pytest.mark.slow(10)
@given(views)
def test_the_one_pass_encoder_gives_the_reference_bytes(value: Any) -> None:
    assert canonical_json(value) == reference(value)


def test_a_number_met_again_is_spelt_as_the_first_time() -> None:
    """Equal decimals of different exponents share a cache entry: they must give equal text."""
    values = [Decimal("12.50"), Decimal("12.5"), Decimal(3), Decimal("3.00"), Decimal("0.1")]
    assert canonical_json(values) == reference(values) == '[12.5,12.5,3,3,0.1]'


def test_what_json_has_no_type_for_is_refused_as_before() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"at": datetime(2025, 1, 1, tzinfo=UTC).date()})
    with pytest.raises(ValueError):
        canonical_json({"points": float("nan")})
