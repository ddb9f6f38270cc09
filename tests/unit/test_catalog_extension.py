"""Adding a view is its module and one catalog line (issue 10): tests/added_view.py declares
`round-facts` (queried) and `rounds` (queried and published), and every derivation of the
catalog (query subjects, state subjects and KV keys, publisher messages, nats-server
permissions, the AsyncAPI document, the live views and the partitions each is computed from)
includes them with no other edit. The query module, the projection worker, the publisher and
the query service answer them: tests/integration/test_added_view.py."""

from __future__ import annotations

import json

import pytest

from infra.nats_authority import render_config, service_permissions, subscriber_permissions
from infra.nats_subjects import query_subject, state_subjects
from infra.views import StoredView
from infra.workers.publisher import messages_for
from infra.workers.query_service import answers
from projections.catalog import CATALOG, CHAMPIONSHIP, INTEGER, WHOLE_VIEW, Param, Publication, View
from projections.ledger import LedgerFold
from projections.live_views import live_time, live_views
from projections.partition_folds import LiveFold
from projections.view_scopes import ViewScopes
from services import queries
from services.asyncapi import asyncapi
from services.demo import ASLMS
from tests.added_view import ROUND_FACTS, ROUNDS, WITH_ADDED_VIEWS, rounds_view
from tests.unit.test_fold_properties import events_of
from tests.views_invariants import check_views


def test_its_query_subject_and_endpoint_exist_in_its_catalog_only() -> None:
    assert query_subject("round_facts", prefix="t1", catalog=WITH_ADDED_VIEWS) == "t1.query.round_facts"
    assert {"round_facts", "rounds"} <= set(answers(WITH_ADDED_VIEWS))
    with pytest.raises(ValueError, match="unknown query endpoint 'round_facts'"):
        query_subject("round_facts")
    assert "round_facts" not in answers()


def test_its_state_subject_is_captured_and_its_views_published_whole() -> None:
    assert state_subjects(prefix="t1", catalog=WITH_ADDED_VIEWS) == [
        *state_subjects(prefix="t1"), "t1.rounds.>"]
    body = '{"as_of":"A","known_at":"K","log_position":4,"rounds":[]}'
    (message,) = messages_for(StoredView("rounds/aslms 1", 6, body), "t1", WITH_ADDED_VIEWS)
    assert (message.subject, message.key, message.body, message.msg_id) == (
        "t1.rounds.aslms_1", "rounds.aslms_1", body.encode(), "rounds/aslms 1@4")
    assert messages_for(StoredView("rounds/aslms 1", 6, body), "t1") == []
    assert messages_for(StoredView("round-facts/aslms 1", 6, body), "t1", WITH_ADDED_VIEWS) == []


def test_the_service_publishes_it_and_a_subscriber_may_follow_it() -> None:
    assert "t1.rounds.>" in service_permissions("t1", WITH_ADDED_VIEWS).publish
    assert "t1.rounds.>" in subscriber_permissions("t1", WITH_ADDED_VIEWS).subscribe
    assert '"t1.rounds.>"' in render_config("t1", catalog=WITH_ADDED_VIEWS)
    assert "rounds" not in render_config("t1")


def test_the_asyncapi_document_describes_its_subject_and_its_query() -> None:
    doc = asyncapi("t1", catalog=WITH_ADDED_VIEWS)
    assert doc["channels"]["rounds"]["address"] == "t1.rounds.{championship}"
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
    assert WITH_ADDED_VIEWS.view("rounds") is ROUNDS
    assert [v.name for v in WITH_ADDED_VIEWS][:-2] == [v.name for v in CATALOG]


def test_its_live_view_is_its_function_at_the_live_time_for_every_championship() -> None:
    state = LedgerFold().apply_all(events_of("demo"))
    t = live_time(state)
    assert t is not None
    views = live_views(state, catalog=WITH_ADDED_VIEWS)
    assert {n: b for n, b in views.items() if not n.startswith("rounds/")} == live_views(state)
    assert [n for n in views if n.startswith("rounds/")] == [f"rounds/{c}" for c in sorted(state.championships)]
    body = json.loads(views[f"rounds/{ASLMS}"])
    assert body["rounds"] == rounds_view(state, ASLMS, t, t)["rounds"] and body["rounds"]
    assert live_views(state, ["rounds/*"], catalog=WITH_ADDED_VIEWS).keys() == {
        f"rounds/{c}" for c in state.championships}


def test_its_views_are_computed_from_its_keys_partition_and_change_with_it() -> None:
    scopes = ViewScopes(WITH_ADDED_VIEWS)
    assert scopes.scope_of(f"rounds/{ASLMS}") == (f"championship:{ASLMS}",)
    assert scopes.views_of(f"championship:{ASLMS}") == {f"standings/{ASLMS}", f"rounds/{ASLMS}"}
    with pytest.raises(LookupError, match="not a view the catalog publishes"):
        scopes.scope_of(f"round-facts/{ASLMS}")


@pytest.mark.parametrize("batch", [1, 7])
def test_the_partitioned_fold_projects_it_as_a_replay_from_zero_does(batch: int) -> None:
    events = events_of("corrected")
    live = LiveFold(catalog=WITH_ADDED_VIEWS)
    written: dict[str, str] = {}
    for start in range(0, len(events), batch):
        written.update(live.advance(events[start:start + batch]))
        check_views(events, written, live.position, WITH_ADDED_VIEWS)
    assert any(n.startswith("rounds/") for n in written)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: View("r", CHAMPIONSHIP, "tests.added_view:round_facts_view", "r",
                  params=(Param("round", INTEGER, "r", required=True),),
                  publication=Publication(WHOLE_VIEW, "r")), "computed from its key alone"),
    (lambda: View("r", CHAMPIONSHIP, "m:f", "r", live="m"), "live names `module:function`"),
    (lambda: WITH_ADDED_VIEWS.with_views(
        View("a", CHAMPIONSHIP, "m:f", "a", depends_on=("b",), publication=Publication(WHOLE_VIEW, "a")),
        View("b", CHAMPIONSHIP, "m:f", "b", depends_on=("a",), publication=Publication(WHOLE_VIEW, "b"))),
     "depend on each other"),
])
def test_a_view_that_cannot_be_computed_live_is_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
