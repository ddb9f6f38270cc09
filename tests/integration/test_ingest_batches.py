"""Ingest batches: independent messages share one transaction, and the answers and the log are
exactly those of processing the messages one by one, in any order and any batch split."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.canonical import canonical_json
from services.demo import register_demo_keys
from services.ingest import Delivery, IngestService
from services.ledger import Ledger
from services.timing_messages import OutgoingMessage, demo_messages
from tests.conftest import Clock

LATER = datetime(2030, 1, 1, tzinfo=UTC)
MESSAGES = demo_messages()


def fresh() -> tuple[Ledger, IngestService]:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                    clock=Clock(datetime(2026, 1, 1, tzinfo=UTC)))
    register_demo_keys(ledger)  # the demo messages' decisions are signed with the demo keys
    return ledger, IngestService(ledger)


def deliveries(messages: list[OutgoingMessage]) -> list[Delivery]:
    return [Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id}) for m in messages]


def outcome(ledger: Ledger) -> str:
    views = [ledger.standings("aslms-2023-24", as_of=LATER, known_at=LATER),
             ledger.invitations("lemans-2024", as_of=LATER, known_at=LATER)]
    return canonical_json(views)


def test_independent_messages_share_one_transaction() -> None:
    ledger, service = fresh()
    service.process_batch(deliveries(MESSAGES[:4]))  # two seasons, two awards
    saves: list[int] = []
    original = ledger.save
    ledger.save = lambda *a, **k: saves.append(len(a)) or original(*a, **k)  # type: ignore[method-assign]
    rounds = MESSAGES[4:8]  # the official files of rounds 1-4
    results = service.process_batch(deliveries(rounds))
    assert [r.status for r in results] == ["accepted"] * 4
    assert len(saves) == 1, "four rounds, one transaction"
    positions = [p for r in results for p in r.positions]
    assert positions == sorted(positions) and len(set(positions)) == len(positions) == 12


def test_a_message_depending_on_an_earlier_one_of_the_batch_sees_it() -> None:
    _, service = fresh()
    service.process_batch(deliveries(MESSAGES[:4]))
    r5, penalties = MESSAGES[8], MESSAGES[15:18]
    results = service.process_batch(deliveries([penalties[0], r5, *penalties]))
    assert [r.status for r in results] == ["rejected", "accepted", "accepted", "accepted", "accepted"]
    assert results[0].reason == "business_rule"  # no classification yet at that point


def test_a_message_id_twice_in_one_batch_is_a_duplicate_the_second_time() -> None:
    _, service = fresh()
    results = service.process_batch(deliveries([MESSAGES[0], MESSAGES[0]]))
    assert [r.status for r in results] == ["accepted", "duplicate"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 8), min_size=1, max_size=12))
def test_batches_answer_exactly_as_one_by_one(seed: int, cuts: list[int]) -> None:
    messages = MESSAGES[:2] + random.Random(seed).sample(MESSAGES[2:], len(MESSAGES) - 2) * 2
    one_ledger, one_service = fresh()
    singles = [one_service.process(d) for d in deliveries(messages)]
    batch_ledger, batch_service = fresh()
    batched = []
    rest = deliveries(messages)
    for size in cuts * 10:
        if not rest:
            break
        batched += batch_service.process_batch(rest[:size])
        rest = rest[size:]
    batched += batch_service.process_batch(rest)
    assert [(r.status, r.reason) for r in batched] == [(r.status, r.reason) for r in singles]
    assert batch_ledger.head() == one_ledger.head()
    assert outcome(batch_ledger) == outcome(one_ledger)
