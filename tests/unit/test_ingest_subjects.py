"""Ingest subjects carry the partition key: every id has a valid token, a subject is taken apart
into what it was made of, hostile subjects are refused with a reason, and the group a key lands
in is nats-server's (the values pinned here were read from a real server: tests/e2e)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.authority import KIND_ROLES
from infra.nats_authority import producer_permissions, role_of_subject
from infra.nats_ingest import IngestTopology
from services import contracts as c
from services.demo import register_demo_keys
from services.ingest import WRONG_PARTITION, Delivery, IngestService
from services.ingest_subjects import (
    MAX_KEY,
    IngestSubject,
    SubjectError,
    ingest_group,
    key_fault,
    partition_key,
    partitioned_subject,
    published_subject,
    subject_of,
    subject_token,
)
from services.ledger import Ledger
from services.timing_messages import demo_messages
from tests.conftest import Clock

IDENT = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._/+-]{0,79}\Z")
KINDS = st.sampled_from(sorted(KIND_ROLES))
PREFIXES = st.sampled_from(["paddock", "t1", "a.b-c"])


@given(IDENT)
def test_every_id_has_a_valid_key(value: str) -> None:
    key = subject_token(value)
    assert key_fault(key) is None and len(key) == len(value)


@given(KINDS, IDENT, PREFIXES, st.integers(0, 15))
def test_a_subject_is_taken_apart_into_what_made_it(kind: str, value: str, prefix: str,
                                                   group: int) -> None:
    subject = partitioned_subject(kind, subject_token(value), prefix)
    parsed = IngestSubject.parse(subject, prefix)
    assert (parsed.role, parsed.kind, parsed.key, parsed.group) == (
        KIND_ROLES[kind].value, kind, subject_token(value), None)
    assert parsed.published == subject
    stored = subject.replace(f"{prefix}.ingest.", f"{prefix}.ingest.{group}.", 1)
    assert IngestSubject.parse(stored, prefix).group == group
    assert published_subject(stored, prefix) == subject
    assert role_of_subject(subject, prefix) is KIND_ROLES[kind]
    assert role_of_subject(stored, prefix) is None  # no producer publishes the stored form


@given(st.text(min_size=1, max_size=100), st.integers(1, 64))
def test_a_key_lands_in_one_group_of_the_count(key: str, groups: int) -> None:
    assert 0 <= ingest_group(key, groups) < groups
    assert ingest_group(key, groups) == ingest_group(key, groups)


@pytest.mark.parametrize(("key", "group"), [
    ("aslms-2023-24", 8), ("a", 12), ("bench-0001", 15), ("x_y", 3)])
def test_the_group_is_the_one_nats_server_computes(key: str, group: int) -> None:
    assert ingest_group(key, 16) == group


@pytest.mark.parametrize(("subject", "why"), [
    ("other.ingest.timing.pole.recorded.x", "is not under paddock.ingest."),
    ("paddock.ingest.timing.pole", "expected paddock.ingest.<role>.<kind>.<key>"),
    ("paddock.ingest.timing..recorded.x", "expected paddock.ingest.<role>.<kind>.<key>"),
    ("paddock.ingest.x.timing.pole.recorded.k", "starts with its group number"),
    ("paddock.ingest.07.timing.pole.recorded.k", "starts with its group number"),
    ("paddock.ingest.1.2.timing.pole.recorded.k", "expected paddock.ingest.<role>.<kind>.<key>"),
    ("paddock.ingest.timing.pole.recorded.a*b", "partition key: a partition key is 1 to 80"),
    ("paddock.ingest.timing.pole.recorded.é", "partition key: a partition key is 1 to 80"),
    ("paddock.ingest.timing.pole.recorded." + "k" * (MAX_KEY + 1), "partition key"),
])
def test_a_hostile_subject_is_refused_with_the_reason(subject: str, why: str) -> None:
    with pytest.raises(SubjectError, match=why.replace("*", r"\*").replace(".", r"\.")):
        IngestSubject.parse(subject, "paddock")
    assert published_subject(subject, "paddock") == subject


@pytest.mark.parametrize("key", ["", "a.b", "a b", ">", "k" * (MAX_KEY + 1)])
def test_a_subject_is_never_made_with_a_bad_key(key: str) -> None:
    with pytest.raises(SubjectError, match="partition key"):
        partitioned_subject("pole.recorded", key)


def test_each_kind_is_keyed_by_its_home() -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    pole = c.PolePositionV1.model_validate({"championship": "aslms 2023/24", "round": 1,
                                            "class": "GT", "car": "91", "effective_at": at})
    invitation = c.InvitationTransitionV1.model_validate({
        "event": "lemans-2024", "route": "r1", "status": "confirmed", "effective_at": at})
    assert partition_key(pole) == "aslms_2023_24"
    assert subject_of(pole, "t1") == "t1.ingest.timing.pole.recorded.aslms_2023_24"
    assert partition_key(invitation) == "lemans-2024"
    assert partition_key(c.SeasonRegisteredV1(text='kind = "championship"\nid = "x/1"\n')) == "x_1"
    assert partition_key(c.SeasonRegisteredV1(text="not = toml = at all")) is None
    long_id = c.SeasonRegisteredV1(text=f'id = "{"x" * (MAX_KEY + 1)}"\n')
    assert partition_key(long_id) is None and subject_of(long_id) == (
        "paddock.ingest.official.season.registered"), "unpartitioned: the service rejects it"
    keys = {m.subject.rsplit(".", 1)[1] for m in demo_messages()}
    assert keys == {"aslms-2023-24", "lemans-2024", "imsa-2023_jim-trueman-award",
                    "imsa-2023_bob-akin-award"}  # the awards: ids with a slash


def test_the_stream_captures_both_forms_and_a_consumer_per_group() -> None:
    topology = IngestTopology(prefix="t1", groups=4)
    assert topology.stream_subjects == ["t1.ingest.*.*.*.*", "t1.ingest.*.*.*"]
    assert topology.transform.dest == ("t1.ingest.{{partition(4,4)}}.{{wildcard(1)}}."
                                       "{{wildcard(2)}}.{{wildcard(3)}}.{{wildcard(4)}}")
    assert [topology.durable_of(g) for g in range(topology.leases)] == [
        "ingest-0", "ingest-1", "ingest-2", "ingest-3", "ingest"]
    assert topology.filter_of(2) == "t1.ingest.2.*.*.*.*"
    assert topology.filter_of(4) == "t1.ingest.*.*.*"
    assert topology.consumer_of("t1.ingest.timing.pole.recorded") == "ingest"
    assert topology.consumer_of("t1.ingest.timing.pole.recorded.a") == f"ingest-{ingest_group('a', 4)}"
    with pytest.raises(ValueError, match="ingest group 5: 0 to 4"):
        topology.durable_of(5)


def test_a_producer_may_publish_its_kinds_with_any_key_or_none() -> None:
    publish = producer_permissions(KIND_ROLES["pole.recorded"], "t1").publish
    assert "t1.ingest.timing.pole.recorded.*" in publish
    assert "t1.ingest.timing.pole.recorded" in publish
    assert not [s for s in publish if ">" in s], "one key token, never more"


def service() -> IngestService:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                    clock=Clock(datetime(2026, 1, 1, tzinfo=UTC)))
    register_demo_keys(ledger)
    ingest = IngestService(ledger)
    for m in demo_messages()[:2]:  # the seasons
        assert ingest.process(Delivery(m.subject, m.body, {"Nats-Msg-Id": m.message_id})
                              ).status == "accepted"
    return ingest


CLASSIFICATION = next(m for m in demo_messages() if ".classification.published." in m.subject)


@pytest.mark.parametrize(("subject", "reason", "detail"), [
    (CLASSIFICATION.subject, "accepted", ""),
    ("paddock.ingest.timing.classification.published", "accepted", ""),
    ("paddock.ingest.timing.classification.published.other", WRONG_PARTITION,
     f"publish it on {CLASSIFICATION.subject}, not paddock.ingest.timing.classification.published.other"),
    ("paddock.ingest.timing.classification.published.a*b", "schema_violation", "partition key"),
    ("paddock.ingest.steward.classification.published.aslms-2023-24", "forbidden", "published on"),
    ("paddock.ingest.timing.classification.published.aslms-2023-24.x", "schema_violation",
     f"belongs on {CLASSIFICATION.subject}"),
])
def test_the_service_checks_the_key_against_the_message(subject: str, reason: str,
                                                         detail: str) -> None:
    result = service().process(Delivery(subject, CLASSIFICATION.body, {"Nats-Msg-Id": "m1"}))
    assert (result.status if result.status == "accepted" else result.reason) == reason
    assert detail in (result.detail or "")
