"""The rule a follower of the whole log uses on PostgreSQL (infra/chain/order.py), over a
simulated log: committed ids, and appends in flight that hold ids not committed yet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from infra.chain.order import MAX_POSITION, FinalPrefix, lock_key, missing, store_key


@dataclass
class Log:
    committed: set[int] = field(default_factory=set)
    in_flight: dict[str, set[int]] = field(default_factory=dict)  # append → ids it holds
    reads: int = 0

    def select(self, after: int, limit: int = 100) -> Callable[[int], list[int]]:
        def rows(bound: int) -> list[int]:
            self.reads += 1
            return sorted(i for i in self.committed if after < i <= bound)[:limit]
        return rows

    def writers(self) -> frozenset[str]:
        return frozenset(self.in_flight)

    def commit(self, append: str) -> None:
        self.committed |= self.in_flight.pop(append)

    def abort(self, append: str) -> None:
        del self.in_flight[append]


def read(prefix: FinalPrefix, log: Log, after: int = 0, limit: int = 100) -> list[int]:
    return prefix.read(after, log.select(after, limit), lambda i: i, limit, log.writers)


def test_no_gap_no_question() -> None:
    log, prefix = Log({1, 2, 3}), FinalPrefix()
    assert read(prefix, log) == [1, 2, 3] and log.reads == 1


def test_a_gap_held_by_an_append_in_flight_cuts_the_read_until_it_commits() -> None:
    log, prefix = Log({1, 3}, {"t": {2}}), FinalPrefix()
    assert read(prefix, log) == [1]
    log.commit("t")
    assert read(prefix, log) == [1, 2, 3]


def test_an_aborted_appends_gap_is_passed_once_it_ended() -> None:
    log, prefix = Log({1, 3}, {"t": {2}}), FinalPrefix()
    assert read(prefix, log) == [1]
    log.abort("t")
    assert read(prefix, log) == [1, 3]
    reads = log.reads
    assert read(prefix, log) == [1, 3] and log.reads == reads + 1  # known permanent: one read


def test_appends_that_began_after_a_gap_was_seen_do_not_delay_it() -> None:
    log, prefix = Log({1, 3}, {"t": {2}}), FinalPrefix()
    assert read(prefix, log) == [1]
    log.abort("t")
    log.in_flight["later"] = {5}  # began since: holds only ids above those read
    log.committed.add(4)
    assert read(prefix, log) == [1, 3, 4]


def test_a_gap_first_seen_with_no_append_in_flight_is_permanent_at_once() -> None:
    log, prefix = Log({1, 4}), FinalPrefix()
    assert read(prefix, log) == [1, 4]
    assert read(prefix, log, after=1) == [4]


def test_a_limited_reread_settles_only_what_it_saw() -> None:
    log, prefix = Log({1, 3, 4, 5, 7}), FinalPrefix()
    assert read(prefix, log, limit=2) == [1, 3]  # 2 is permanent: no append in flight
    log.in_flight["t"] = {6}  # 6 is not held by t (7 was committed before), but it might be
    assert read(prefix, log, after=3, limit=2) == [4, 5]
    assert read(prefix, log, after=5, limit=2) == []
    log.abort("t")
    assert read(prefix, log, after=5, limit=2) == [7]


def test_the_stable_head() -> None:
    log, prefix = Log({1, 2, 4}, {"t": {3}}), FinalPrefix()
    ids = log.select(0, MAX_POSITION)
    assert prefix.stable(0, 4, ids, log.writers) == 2
    log.commit("t")
    assert prefix.stable(0, 4, ids, log.writers) == 4
    assert prefix.stable(4, 4, ids, log.writers) == 4


def test_gaps_and_keys() -> None:
    assert missing(0, [2, 3, 6]) == [1, 4, 5]
    assert missing(3, []) == []
    key = store_key("paddock.paddock_events")
    assert key.unsigned == key.signed & 0xFFFFFFFF and -(2**31) <= key.signed < 2**31
    assert lock_key("championship:x") == lock_key("championship:x") != lock_key("championship:y")

