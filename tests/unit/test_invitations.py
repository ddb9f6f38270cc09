"""The invitation lifecycle: which recorded transitions an organiser may make."""

from __future__ import annotations

import pytest

from domain import invitations as lc
from domain.errors import InvalidTransitionError
from domain.invitations import check_transition, needs_new_holder

WHERE = "invitation lemans-2024/aslms-2023-24/lmp2-champion"

ALLOWED = [
    (None, lc.CONFIRMED),
    (lc.CONFIRMED, lc.ACCEPTED),
    (lc.CONFIRMED, lc.DECLINED),
    (lc.CONFIRMED, lc.WITHDRAWN),
    (lc.CONFIRMED, lc.REALLOCATED),
    (lc.ACCEPTED, lc.REDEEMED),
    (lc.ACCEPTED, lc.WITHDRAWN),
    (lc.ACCEPTED, lc.REALLOCATED),
    (lc.DECLINED, lc.REALLOCATED),
    (lc.WITHDRAWN, lc.REALLOCATED),
    (lc.REALLOCATED, lc.ACCEPTED),
    (lc.REALLOCATED, lc.DECLINED),
    (lc.REALLOCATED, lc.WITHDRAWN),
    (lc.REALLOCATED, lc.REDEEMED),
]


@pytest.mark.parametrize(("current", "new"), ALLOWED)
def test_allowed_transitions(current: str | None, new: str) -> None:
    check_transition(current, new, where=WHERE)  # no exception: allowed


REFUSED = [
    (None, lc.ACCEPTED),
    (None, lc.DECLINED),
    (None, lc.WITHDRAWN),
    (None, lc.REALLOCATED),
    (None, lc.REDEEMED),
    (lc.CONFIRMED, lc.CONFIRMED),
    (lc.CONFIRMED, lc.REDEEMED),  # must be accepted first
    (lc.ACCEPTED, lc.CONFIRMED),
    (lc.ACCEPTED, lc.ACCEPTED),
    (lc.ACCEPTED, lc.DECLINED),
    (lc.DECLINED, lc.ACCEPTED),
    (lc.DECLINED, lc.CONFIRMED),
    (lc.WITHDRAWN, lc.ACCEPTED),
    (lc.WITHDRAWN, lc.REDEEMED),
    (lc.REALLOCATED, lc.CONFIRMED),
    (lc.REALLOCATED, lc.REALLOCATED),
    *[(lc.REDEEMED, status) for status in lc.RECORDED_STATUSES],  # redeemed is final
]


@pytest.mark.parametrize(("current", "new"), REFUSED)
def test_refused_transitions_name_both_statuses(current: str | None, new: str) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        check_transition(current, new, where=WHERE)
    error = caught.value
    shown = current or "not yet confirmed"
    assert error.message.startswith(f"cannot go from {shown} to {new} (allowed next: ")
    assert error.where == WHERE
    assert str(error).startswith(f"{WHERE}: cannot go from {shown} to {new}")


@pytest.mark.parametrize(
    ("current", "options"),
    [
        (None, "confirmed"),
        (lc.CONFIRMED, "accepted, declined, withdrawn, reallocated"),
        (lc.ACCEPTED, "redeemed, withdrawn, reallocated"),
        (lc.DECLINED, "reallocated"),
        (lc.REDEEMED, "none: it is final"),
    ],
)
def test_refusal_lists_what_may_come_next(current: str | None, options: str) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        check_transition(current, lc.CONFIRMED if current else lc.ACCEPTED, where=WHERE)
    assert caught.value.message.endswith(f"(allowed next: {options})")


ALL_PAIRS = [(c, n) for c in (None, *lc.RECORDED_STATUSES) for n in lc.RECORDED_STATUSES]


def test_the_tables_do_not_contradict_each_other() -> None:
    assert not set(ALLOWED) & set(REFUSED)
    assert len(ALL_PAIRS) == 42


@pytest.mark.parametrize(("current", "new"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_pair_outside_the_allowed_table_is_refused(current: str | None, new: str) -> None:
    with pytest.raises(InvalidTransitionError, match=f"cannot go from .* to {new} "):
        check_transition(current, new, where=WHERE)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (None, "invited"),
        (lc.CONFIRMED, "cancelled"),
        (lc.ACCEPTED, ""),
        (lc.CONFIRMED, "Accepted"),  # statuses are exact
        # Computed states are never recorded by an organiser.
        (None, lc.PENDING),
        (None, lc.PROVISIONAL),
        (lc.CONFIRMED, lc.EARNED),
    ],
)
def test_unknown_status_is_refused(current: str | None, new: str) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        check_transition(current, new, where=WHERE)
    message = caught.value.message
    assert message == (
        f"'{new}' is not an invitation status an organiser records "
        "(one of: confirmed, accepted, declined, withdrawn, reallocated, redeemed)"
    )


def test_recorded_and_computed_statuses_are_distinct() -> None:
    assert lc.RECORDED_STATUSES == (
        "confirmed", "accepted", "declined", "withdrawn", "reallocated", "redeemed",
    )
    assert {lc.PENDING, lc.PROVISIONAL, lc.EARNED}.isdisjoint(lc.RECORDED_STATUSES)


@pytest.mark.parametrize(("status", "needs"), [
    (lc.REALLOCATED, True), (lc.CONFIRMED, False), (lc.ACCEPTED, False), (lc.DECLINED, False),
])
def test_only_a_reallocation_needs_a_new_holder(status: str, needs: bool) -> None:
    assert needs_new_holder(status) is needs
