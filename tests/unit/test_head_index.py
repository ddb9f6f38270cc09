"""The head index answers "the last log position known at K" as a scan of every (time, position)
pair would, whatever order the pairs arrive in (concurrent writers commit out of time order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from projections.ledger import HeadIndex

START = datetime(2024, 1, 1, tzinfo=UTC)
pairs = st.lists(st.tuples(st.integers(0, 50), st.integers(1, 10_000)), max_size=60)


def scanned(seen: list[tuple[int, int]], minute: int) -> int:
    return max((position for at, position in seen if at <= minute), default=0)


@given(pairs, st.lists(st.integers(-1, 51), min_size=1, max_size=10))
def test_every_answer_equals_a_scan_of_what_was_added(added: list[tuple[int, int]],
                                                     asked: list[int]) -> None:
    index, seen = HeadIndex(), []
    for at, position in added:
        index.add(START + timedelta(minutes=at), position)
        seen.append((at, position))
        for minute in asked:  # asked between additions too: no state to settle first
            assert index.position_at(START + timedelta(minutes=minute)) == scanned(seen, minute)
    assert len(index) == len(added)
    latest = max((at for at, _ in added), default=None)
    assert index.latest == (None if latest is None else START + timedelta(minutes=latest))


def test_a_late_time_raises_the_heads_after_it_only_as_far_as_needed() -> None:
    index = HeadIndex()
    for minute, position in ((0, 1), (10, 2), (20, 5), (30, 6)):
        index.add(START + timedelta(minutes=minute), position)
    index.add(START + timedelta(minutes=5), 4)  # committed after 2, stamped before it
    answers = [index.position_at(START + timedelta(minutes=m)) for m in (0, 5, 10, 20, 30)]
    assert answers == [1, 4, 4, 5, 6]
