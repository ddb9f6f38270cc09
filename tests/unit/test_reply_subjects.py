"""The service answers a producer only in an inbox, and under per-role inboxes only in the
sending role's own: a forged Paddock-Reply-To cannot make it write into state subjects."""

from __future__ import annotations

import pytest

from infra.nats_authority import reply_allowed

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
