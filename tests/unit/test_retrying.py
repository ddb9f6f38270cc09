"""Bounded, jittered retries of write conflicts (issue 9 item 5)."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from infra.retrying import is_conflict, is_write_conflict, retry_conflicts


class Conflict(Exception):
    sqlstate = "XX000"  # how PostgreSQL reports "tuple concurrently updated"


def wrapped(cause: BaseException) -> OperationalError:
    error = OperationalError("wrapped")
    error.__cause__ = cause
    return error


def test_a_conflict_is_retried_with_growing_jittered_pauses() -> None:
    pauses: list[float] = []
    failures = iter([Conflict(), wrapped(Conflict()), Conflict()])

    def call() -> str:
        for failure in failures:
            raise failure
        return "done"

    assert retry_conflicts(call, first=0.1, most=0.3, sleep=pauses.append) == "done"
    assert len(pauses) == 3
    assert all(0 <= pause <= ceiling for pause, ceiling in zip(pauses, (0.2, 0.3, 0.3), strict=True))


def test_retries_are_bounded_and_the_last_conflict_is_raised() -> None:
    pauses: list[float] = []

    def call() -> None:
        raise Conflict()

    with pytest.raises(Conflict):
        retry_conflicts(call, attempts=4, sleep=pauses.append)
    assert len(pauses) == 3


def test_anything_else_is_raised_at_once() -> None:
    pauses: list[float] = []

    def call() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        retry_conflicts(call, sleep=pauses.append)
    assert pauses == []


def test_what_counts_as_a_conflict() -> None:
    assert is_conflict(wrapped(Conflict()))
    assert not is_conflict(OperationalError("server closed the connection"))
    assert is_write_conflict(IntegrityError("duplicate key value violates unique constraint"))
    assert not is_write_conflict(ValueError())
