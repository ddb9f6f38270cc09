"""The service answers a producer only in an inbox, and under per-role inboxes only in the
sending role's own: a forged Paddock-Reply-To cannot make it write into state subjects; a
malformed reply subject, message id or actor is refused with its fault named (issue 9 item 1)."""

from __future__ import annotations

import pytest

from infra.nats_authority import reply_allowed, reply_fault
from services.ingest_headers import header_fault

TIMING = "paddock.ingest.timing.classification.published"


@pytest.mark.parametrize("reply_to, subject, allowed", [
    ("_INBOX.abc123", TIMING, True),  # a deployment without per-role inboxes
    ("_INBOX.paddock.timing.abc123", TIMING, True),
    ("_INBOX.paddock.steward.abc123", TIMING, False),  # another role's replies
    ("_INBOX.paddock.timingx.abc", TIMING, False),
    ("paddock.standings.aslms-2023-24.GT", TIMING, False),  # the state stream
    ("$KV.PADDOCK_LATEST.standings.x", TIMING, False),
    ("paddock.ingest.steward.penalty.imposed", TIMING, False),
])
def test_replies_go_only_to_the_senders_inbox(reply_to: str, subject: str, allowed: bool) -> None:
    assert reply_allowed(reply_to, subject, "paddock") is allowed


@pytest.mark.parametrize("reply_to", [
    "_INBOX.paddock.timing.a b", "_INBOX.paddock.timing.a\tb", "_INBOX.paddock.timing.a b c",
    "_INBOX.paddock.timing.\x1b[31m", "_INBOX.paddock.timing.>", "_INBOX.paddock.timing.*.x",
    "_INBOX.paddock.timing..x", "_INBOX.paddock.timing.", "_INBOX.paddock.timing.\ufffd",
    "_INBOX.paddock.timing.a\r\nPUB x 1", "_INBOX.paddock.timing." + "x" * 300,
])
def test_a_malformed_reply_subject_is_refused_with_a_reason(reply_to: str) -> None:
    assert reply_fault(reply_to, TIMING, "paddock")
    assert not reply_allowed(reply_to, TIMING, "paddock")


@pytest.mark.parametrize("name, value, fault", [
    ("Nats-Msg-Id", "a b", "printable ASCII"),
    ("Nats-Msg-Id", "id\x07", "printable ASCII"),
    ("Nats-Msg-Id", "é", "printable ASCII"),
    ("Nats-Msg-Id", "i" * 201, "201 characters; the limit is 200"),
    ("Paddock-Message-Id", "a\tb", "printable ASCII"),
    ("Paddock-Actor", "\x1b[2Jmallory", "control or invisible"),
    ("Paddock-Actor", "zero\u200bwidth", "control or invisible"),
    ("Paddock-Actor", "bad \ufffd bytes", "not UTF-8"),
    ("Paddock-Actor", "m" * 201, "the limit is 200"),
])
def test_a_malformed_id_or_actor_header_is_named_with_its_fault(name: str, value: str, fault: str) -> None:
    described = header_fault({name: value})
    assert described and name in described and fault in described
    assert described.isprintable(), "the value is escaped, never echoed raw"


def test_well_formed_headers_pass() -> None:
    assert header_fault({"Nats-Msg-Id": "classification/aslms@12-3f", "Paddock-Actor": "steward:Jo Ngô"}) is None
