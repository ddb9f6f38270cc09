"""Adding a view is its module and one catalog line (issue 10): tests/added_view.py declares
`round-facts`, and every derivation of the catalog (query subjects, state subjects and KV keys,
publisher messages, nats-server permissions, the AsyncAPI document) includes it with no other
edit. The query module and the query service answer it: tests/integration/test_added_view.py."""

from __future__ import annotations

import json

import pytest

from infra.nats_authority import render_config, service_permissions, subscriber_permissions
from infra.nats_subjects import query_subject, state_subjects
from infra.views import StoredView
from infra.workers.publisher import messages_for
from infra.workers.query_service import answers
from projections.catalog import CATALOG
from services import queries
from services.asyncapi import asyncapi
from tests.added_view import ROUND_FACTS, WITH_ROUND_FACTS


def test_its_query_subject_and_endpoint_exist_in_its_catalog_only() -> None:
    assert query_subject("round_facts", prefix="t1", catalog=WITH_ROUND_FACTS) == "t1.query.round_facts"
    assert "round_facts" in answers(WITH_ROUND_FACTS)
    with pytest.raises(ValueError, match="unknown query endpoint 'round_facts'"):
        query_subject("round_facts")
    assert "round_facts" not in answers()


def test_its_state_subject_is_captured_and_its_views_published_whole() -> None:
    assert state_subjects(prefix="t1", catalog=WITH_ROUND_FACTS) == [
        *state_subjects(prefix="t1"), "t1.round-facts.>"]
    body = '{"as_of":"A","known_at":"K","log_position":4,"round":2}'
    (message,) = messages_for(StoredView("round-facts/aslms 1", 6, body), "t1", WITH_ROUND_FACTS)
    assert (message.subject, message.key, message.body, message.msg_id) == (
        "t1.round-facts.aslms_1", "round-facts.aslms_1", body.encode(), "round-facts/aslms 1@4")
    assert messages_for(StoredView("round-facts/aslms 1", 6, body), "t1") == []


def test_the_service_publishes_it_and_a_subscriber_may_follow_it() -> None:
    assert "t1.round-facts.>" in service_permissions("t1", WITH_ROUND_FACTS).publish
    assert "t1.round-facts.>" in subscriber_permissions("t1", WITH_ROUND_FACTS).subscribe
    assert '"t1.round-facts.>"' in render_config("t1", catalog=WITH_ROUND_FACTS)
    assert "round-facts" not in render_config("t1")


def test_the_asyncapi_document_describes_its_subject_and_its_query() -> None:
    doc = asyncapi("t1", catalog=WITH_ROUND_FACTS)
    assert doc["channels"]["round_facts"]["address"] == "t1.round-facts.{championship}"
    assert doc["channels"]["query_round_facts"]["address"] == "t1.query.round_facts"
    request = doc["components"]["messages"]["query_round_facts"]["payload"]
    assert request["required"] == ["championship", "round"]
    assert set(request["properties"]) == {"championship", "as_of", "known_at", "round"}
    assert "{championship, as_of?, known_at?, round: N}" in doc["operations"]["query_round_facts"]["summary"]
    assert "round_facts" not in json.dumps(asyncapi("t1"))


def test_the_query_module_checks_its_requests_like_any_other() -> None:
    query = queries.parse(ROUND_FACTS, {"championship": "c", "round": 2})
    assert (query.key, query.values) == ("c", {"as_of": None, "known_at": None, "round": 2})
    with pytest.raises(queries.InvalidRequestError, match="round: Field required"):
        queries.parse(ROUND_FACTS, {"championship": "c"})
    assert WITH_ROUND_FACTS.view("round-facts") is ROUND_FACTS
    assert [v.name for v in WITH_ROUND_FACTS][:-1] == [v.name for v in CATALOG]
