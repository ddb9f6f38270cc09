"""NATS names: ids become subject tokens; a prefix isolates a deployment (or a test)."""

from __future__ import annotations

import json

import pytest

from infra.nats_subjects import (
    LATEST_BUCKET,
    QUERY_HISTORY,
    QUERY_INVITATIONS,
    QUERY_STANDINGS,
    STATE_STREAM,
    bucket_name,
    entry_list_key,
    entry_list_subject,
    invitations_key,
    invitations_subject,
    query_subject,
    standings_key,
    standings_subject,
    state_stream_name,
    state_subjects,
    token,
)
from infra.views import StoredView
from infra.workers.publisher import by_position, messages_for


@pytest.mark.parametrize(("value", "expected"), [
    ("aslms-2023-24", "aslms-2023-24"),
    ("LMP2_Pro-Am", "LMP2_Pro-Am"),
    ("elms 2023/24.final*>", "elms_2023_24_final__"),
    ("Été", "_t_"),
    ("", "_"),
])
def test_token_replaces_every_character_outside_the_safe_set(value: str, expected: str) -> None:
    assert token(value) == expected


def test_default_names() -> None:
    assert standings_subject("aslms-2023-24", "LMP2") == "paddock.standings.aslms-2023-24.LMP2"
    assert invitations_subject("lemans-2024") == "paddock.invitations.lemans-2024"
    assert standings_key("aslms-2023-24", "GT") == "standings.aslms-2023-24.GT"
    assert invitations_key("le mans.2024") == "invitations.le_mans_2024"
    assert (bucket_name(), state_stream_name()) == (LATEST_BUCKET, STATE_STREAM)
    assert [query_subject(e) for e in ("standings", "invitations", "history")] == [
        QUERY_STANDINGS, QUERY_INVITATIONS, QUERY_HISTORY]
    assert state_subjects() == ["paddock.standings.>", "paddock.invitations.>",
                                "paddock.entry-list.>"]


def test_entry_list_names() -> None:
    assert entry_list_subject("lemans-2024") == "paddock.entry-list.lemans-2024"
    assert entry_list_subject("le mans.2024", prefix="t1") == "t1.entry-list.le_mans_2024"
    assert entry_list_key("le mans.2024") == "entry-list.le_mans_2024"
    assert [query_subject(e, prefix="t1") for e in ("entry_list", "entry_list_diff")] == [
        "t1.query.entry_list", "t1.query.entry_list_diff"]
    assert "t1.entry-list.>" in state_subjects(prefix="t1")  # the state stream captures it


def test_a_prefix_moves_subjects_stream_and_bucket() -> None:
    assert standings_subject("c", "k", prefix="t1.a") == "t1.a.standings.c.k"
    assert (bucket_name(prefix="t1.a"), state_stream_name(prefix="t1.a")) == (
        "T1_A_LATEST", "T1_A_STATE")


@pytest.mark.parametrize("prefix", ["", "a..b", "a.>", "a b", ".a"])
def test_a_prefix_must_be_tokens(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        standings_subject("c", "k", prefix=prefix)


def test_unknown_query_endpoint() -> None:
    with pytest.raises(ValueError, match="standings, invitations, history"):
        query_subject("entries")


def test_a_standings_view_becomes_one_message_per_class_with_every_top_level_field() -> None:
    body = json.dumps({"championship": "c 1", "as_of": "A", "known_at": "K", "log_position": 7,
                       "classes": [{"class": "P/2", "rows": []}, {"class": "GT", "rows": []}]})
    messages = messages_for(StoredView("standings/c 1", 9, body), "x")
    assert [(m.subject, m.key, m.msg_id) for m in messages] == [
        ("x.standings.c_1.P_2", "standings.c_1.P_2", "standings/c 1@7/P/2"),
        ("x.standings.c_1.GT", "standings.c_1.GT", "standings/c 1@7/GT"),
    ]
    assert json.loads(messages[1].body) == {"championship": "c 1", "as_of": "A", "known_at": "K",
                                            "log_position": 7,
                                            "classes": [{"class": "GT", "rows": []}]}
    assert messages[0].headers["Paddock-Log-Position"] == "7"  # the body's, not the store's


def test_an_invitations_view_goes_whole_and_unknown_kinds_are_skipped() -> None:
    body = '{"as_of":"A","event":"e","known_at":"K"}'
    (message,) = messages_for(StoredView("invitations/e", 3, body))
    assert (message.subject, message.key, message.body, message.msg_id) == (
        "paddock.invitations.e", "invitations.e", body.encode(), "invitations/e@3")
    assert messages_for(StoredView("entries/e", 3, "{}")) == []


def test_an_entry_list_view_goes_whole_with_its_position_and_times() -> None:
    body = '{"as_of":"A","event":"le mans","known_at":"K","log_position":5}'
    (message,) = messages_for(StoredView("entry-list/le mans", 8, body), "x")
    assert (message.subject, message.key, message.body, message.msg_id) == (
        "x.entry-list.le_mans", "entry-list.le_mans", body.encode(), "entry-list/le mans@5")
    assert {k: v for k, v in message.headers.items() if k.startswith("Paddock-")} == {
        "Paddock-View": "entry-list/le mans", "Paddock-Log-Position": "5",
        "Paddock-As-Of": "A", "Paddock-Known-At": "K"}


def test_views_are_grouped_by_position_in_order() -> None:
    views = [StoredView("b", 2, ""), StoredView("a", 1, ""), StoredView("a2", 2, "")]
    assert [(p, [v.name for v in vs]) for p, vs in by_position(views)] == [
        (1, ["a"]), (2, ["a2", "b"])]
