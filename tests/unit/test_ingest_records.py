"""The lean ingest path (issue 10 item 6): a message's validated rows become the stored records
directly, digested once, and the round's aggregate comes from the fold, not from the store;
the records, the digests kept in the log and the aggregates are the same as before."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.aggregates.race_classification import RaceClassification
from domain.classification import RECORD_KEYS, ClassificationRow
from infra.store import store_settings
from infra.transcoder import PaddockTranscoder
from services import contracts as c
from services.alkamel import parse_alkamel
from services.demo import ASLMS, load_demo, season_dir
from services.ingest import row_records
from services.ledger import Ledger, rows_digest
from services.row_json import EncodedRows
from services.timing_messages import row_contract

# rows_digest of the five real race files, as the code before issue 10 computed them: digests
# are stored in the log, so the same rows must keep giving the same digest.
DIGESTS = {
    "R1_sepang_2023-12-02_race1_hour4.csv":
        "8317033e19c3ffe4eabb6a2b8091a51e99265e42ff979b743742faa60149e81d",
    "R2_sepang_2023-12-03_race2_hour4.csv":
        "96a56d4831055ef694a5d9a18527284568157d8c962caba7167e509200469baa",
    "R3_dubai_2024-02-04_race_hour4.csv":
        "6276df5cd3e472940aa002b59995048ef34f1380feaeeace8d24c69a27ea291f",
    "R4_abudhabi_2024-02-10_race1_hour4.csv":
        "e0fb47af66b82a4d0af029762607732eb8cfbdcacd0e930cb0f87f7d9b2e4078",
    "R5_abudhabi_2024-02-11_race2_hour4.csv":
        "cb1285fd74c9460e7b5c582514de374b8da0f7b33ab7588fc6028d92b631b852",
}


RACE_FILES = list(DIGESTS)


def race_rows(name: str) -> tuple[ClassificationRow, ...]:
    return parse_alkamel((season_dir() / name).read_bytes(), source=name)


def reference_digest(records: list[dict[str, Any]]) -> str:
    """rows_digest as it was: sorted JSON through the json module."""
    text = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("name", RACE_FILES)
def test_a_message_stores_the_records_and_digest_a_file_import_stores(name: str) -> None:
    rows = race_rows(name)
    message = c.MESSAGE.validate_json(json.dumps({
        "kind": "classification.published", "championship": ASLMS, "round": 1,
        "status": "official", "rows": [row_contract(r) for r in rows]}))
    assert isinstance(message, c.ClassificationPublishedV1)
    from_message = row_records(message)
    from_file = [r.to_record() for r in rows]
    assert from_message == from_file
    assert [tuple(r) for r in from_message] == [RECORD_KEYS] * len(rows)
    assert rows_digest(from_message) == rows_digest(from_file) == DIGESTS[name]


TEXT = st.text(max_size=12).filter(lambda s: not any(0xD800 <= ord(ch) <= 0xDFFF for ch in s))
VALUE = st.one_of(st.none(), TEXT, st.integers(min_value=-2**80, max_value=2**80),
                  st.lists(TEXT, max_size=3))
RECORD = st.fixed_dictionaries({key: VALUE for key in RECORD_KEYS})


@pytest.mark.slow(8)
@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, max_size=5), st.randoms(use_true_random=False))
def test_rows_digest_is_the_sorted_json_digest_whatever_the_key_order(
        records: list[dict[str, Any]], rng: random.Random) -> None:
    assert rows_digest(records) == reference_digest(records)
    shuffled = [dict(rng.sample(list(r.items()), len(r))) for r in records]
    assert rows_digest(shuffled) == reference_digest(records)


def _published_state(records: list[dict[str, Any]]) -> dict[str, Any]:
    at = datetime(2024, 2, 11, 14, tzinfo=UTC)
    agg = RaceClassification(championship=ASLMS, round_number=5, effective_at=at,
                             recorded_at=at, actor="test", source="test")
    rows = EncodedRows(records)
    agg.publish("official", rows_digest(rows), rows, at, at, "test", "test")
    event = agg.collect_events()[-1]
    assert event.rows is rows  # type: ignore[attr-defined]
    return dict(vars(event))


def _transcoders() -> tuple[JSONTranscoder, JSONTranscoder]:
    ledger = Ledger(env=store_settings("memory://"))
    ours = ledger.mapper.transcoder
    assert isinstance(ours, PaddockTranscoder)
    stock = JSONTranscoder()
    ledger.register_transcodings(stock)
    return ours, stock


@settings(max_examples=200, deadline=None)
@given(st.lists(RECORD, max_size=4), st.randoms(use_true_random=False))
def test_the_store_writes_encoded_rows_as_the_stock_transcoder_writes_them(
        records: list[dict[str, Any]], rng: random.Random) -> None:
    """Same bytes whatever the rows hold, keys in sorted order (written as encoded) or not."""
    ours, stock = _transcoders()
    shuffled = [dict(rng.sample(list(r.items()), len(r))) for r in records]
    for rows in (records, shuffled):
        state = _published_state(rows)
        assert ours.encode(state) == stock.encode(state)
        assert ours.decode(ours.encode(state))["rows"] == rows


def test_the_rows_of_a_real_classification_are_written_as_encoded() -> None:
    ours, stock = _transcoders()
    state = _published_state([r.to_record() for r in race_rows(RACE_FILES[0])])
    assert state["rows"].stored is not None
    assert ours.encode(state) == stock.encode(state)


def test_rows_digest_refuses_what_json_refuses() -> None:
    record = dict.fromkeys(RECORD_KEYS, "x") | {"team": "\ud800"}
    with pytest.raises(UnicodeEncodeError):
        rows_digest([record])


def _stored(ledger: Ledger, number: int) -> RaceClassification:
    agg = ledger.find(RaceClassification, championship=ASLMS, round_number=number)
    assert agg is not None
    return agg


def _without_timestamps(agg: RaceClassification) -> dict[str, Any]:
    return {k: v for k, v in vars(agg).items() if k not in ("_created_on", "_modified_on")}


@pytest.fixture(scope="module")
def demo() -> Ledger:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                    clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    load_demo(ledger)
    return ledger


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_the_round_aggregate_from_the_fold_is_the_stored_one(demo: Ledger, number: int) -> None:
    """Versions, official marks, poles and the version number, without reading its events."""
    stored = _stored(demo, number)
    resumed = demo._round(ASLMS, number, effective_at=datetime(2030, 1, 1, tzinfo=UTC),
                          actor="test", source="test")
    assert _without_timestamps(resumed) == _without_timestamps(stored)
    assert resumed.version == stored.version >= 2
    assert not resumed.pending_events


def test_a_round_resumed_from_the_fold_takes_its_next_facts() -> None:
    """A corrected classification and an official mark append after the stored events (a wrong
    version would fail the save), and a resend is still recognised."""
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                    clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    load_demo(ledger)
    before = _stored(ledger, 5).version
    records = [r.to_record() for r in race_rows(RACE_FILES[4])]
    at = datetime(2024, 3, 1, tzinfo=UTC)
    first = ledger.publish_classification(ASLMS, 5, records, status="official",
                                          published_at=at, actor="test", source="test")
    again = ledger.publish_classification(ASLMS, 5, records, status="official",
                                          published_at=at, actor="test", source="test")
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert _stored(ledger, 5).version == before + 1
    assert ledger.state().classifications[(ASLMS, 5)][-1].value.digest == DIGESTS[RACE_FILES[4]]
    resumed = ledger._round(ASLMS, 5, effective_at=at, actor="test", source="test")
    assert _without_timestamps(resumed) == _without_timestamps(_stored(ledger, 5))


def test_a_value_holding_the_marker_text_is_written_as_the_stock_transcoder_writes_it() -> None:
    from infra.transcoder import _MARKER

    ours, stock = _transcoders()
    state = _published_state([{k: "x" for k in RECORD_KEYS}])
    for tricky in ({**state, "actor": _MARKER}, {"a": _MARKER}, {**state, "b": [_MARKER]}):
        assert ours.encode(tricky) == stock.encode(tricky)
