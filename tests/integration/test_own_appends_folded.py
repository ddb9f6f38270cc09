"""A writer's own appends go straight into the partition folds it holds (ingest re-read each
batch's classifications, rows and all, on the next batch), unless another writer may have
appended in between: then they are read as before. Either way the fold is the store's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from domain.partitions import championship_partition
from infra.store import store_settings
from projections.canonical import canonical_json
from services.alkamel import parse_alkamel
from services.demo import ASLMS, load_demo, season_dir
from services.ledger import Ledger
from tests.conftest import Clock

R5 = "R5_abudhabi_2024-02-11_race2_hour4.csv"


def _count_reads(ledger: Ledger) -> list[int]:
    """The log positions the ledger's partition folds read from the store from now on."""
    reads: list[int] = []
    read: Callable[..., Any] = ledger.folds._read

    def counting(scope: tuple[str, ...], after: int) -> Any:
        found = read(scope, after)
        reads.extend(position for position, _ in found)
        return found

    ledger.folds._read = counting
    return reads


def _publish(ledger: Ledger, hour: int, number: int = 5) -> None:
    """A provisional classification of a round (R5's cars) as it stood `hour` hours in (one
    car fewer each)."""
    rows = parse_alkamel((season_dir() / R5).read_bytes(), source=R5)[:-hour]
    outcome = ledger.import_classification(
        ASLMS, number, rows, status="provisional",
        published_at=datetime(2024, 2, 12, hour, tzinfo=UTC), actor="test", source=f"h{hour}")
    assert outcome.status == "accepted", outcome


def _same_as_the_store(ledger: Ledger, store_url: str, clock: Clock) -> None:
    fresh = Ledger(env=store_settings(store_url), clock=clock)
    assert canonical_json(ledger.standings(ASLMS)) == canonical_json(fresh.standings(ASLMS))
    scope = (championship_partition(ASLMS),)
    assert [(v.position, v.value.digest) for v in ledger.scoped(scope).classifications[(ASLMS, 5)]] \
        == [(v.position, v.value.digest) for v in fresh.scoped(scope).classifications[(ASLMS, 5)]]


def test_a_writers_own_appends_are_folded_without_reading_them_back(
        ledger: Ledger, store_url: str, clock: Clock) -> None:
    load_demo(ledger)
    ledger.standings(ASLMS)  # the championship's fold is held from here on
    reads = _count_reads(ledger)
    _publish(ledger, 1)
    ledger.standings(ASLMS)
    assert reads == [], "the append was read back"
    _same_as_the_store(ledger, store_url, clock)


def test_an_append_by_another_writer_in_between_is_read(
        ledger: Ledger, store_url: str, clock: Clock) -> None:
    """As in an ingest run: validated against one read, another writer appends, then the save:
    the save does not follow what the fold is complete through, so the next answer reads."""
    load_demo(ledger)
    other = Ledger(env=store_settings(store_url), clock=clock)
    with ledger.one_read(), ledger.deferred() as pending:
        _publish(ledger, 3)
    _publish(other, 2, number=4)  # another aggregate of the same championship
    reads = _count_reads(ledger)
    ledger.save(*pending)
    ledger.standings(ASLMS)
    assert len(reads) == 2, "the other writer's fact and this append are read, in log order"
    assert reads == sorted(reads)
    _same_as_the_store(ledger, store_url, clock)
