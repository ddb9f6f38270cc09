"""The headers the ingest service reads from a producer's message, checked before anything is
recorded: a malformed one rejects that message alone, with the header named (issue 9 item 1).

The reply subject is checked by the worker (infra/nats_authority.py knows whose inbox is whose);
the message id and the actor are checked here, since they are stored in the log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MESSAGE_ID = "Nats-Msg-Id"
RECEIPT_ID = "Paddock-Message-Id"
"""The message's permanent id when it is not the broker's `Nats-Msg-Id`: a producer that resends
within the broker's dedupe window, to hear the service's answer, gives the copy a fresh
`Nats-Msg-Id` and the original id here."""
ACTOR = "Paddock-Actor"
REPLY_TO = "Paddock-Reply-To"
BAD_HEADER = "bad_header"
MAX_MESSAGE_ID = 200
MAX_ACTOR = 200

_ID = re.compile(r"[!-~]+")  # printable ASCII, no whitespace
NOT_UTF8 = "\ufffd"  # what the client makes of bytes that are not UTF-8


def message_id_fault(value: str) -> str | None:
    """Why a `Nats-Msg-Id` is unusable as the message's permanent receipt key (None: usable)."""
    if len(value) > MAX_MESSAGE_ID:
        return f"{len(value)} characters; the limit is {MAX_MESSAGE_ID}"
    if not _ID.fullmatch(value):
        return "only printable ASCII without spaces is allowed"
    return None


def actor_fault(value: str) -> str | None:
    """Why a `Paddock-Actor` may not be recorded with the facts (None: it may)."""
    if len(value) > MAX_ACTOR:
        return f"{len(value)} characters; the limit is {MAX_ACTOR}"
    if NOT_UTF8 in value:
        return "not UTF-8"
    if not value.isprintable():
        return "control or invisible characters are not allowed"
    return None


def header_fault(headers: Mapping[str, str]) -> str | None:
    """The first malformed header the service reads, named with its (escaped) value."""
    for name, check in ((MESSAGE_ID, message_id_fault), (RECEIPT_ID, message_id_fault),
                        (ACTOR, actor_fault)):
        value = headers.get(name)
        fault = check(value) if value else None
        if fault:
            return described(name, value or "", fault)
    return None


def given_message_id(headers: Mapping[str, str]) -> str | None:
    """The producer's id for the message (the receipt's key), if it gave a well-formed one."""
    given = headers.get(RECEIPT_ID) or headers.get(MESSAGE_ID)
    return given if given and message_id_fault(given) is None else None


def described(name: str, value: str, fault: str) -> str:
    return f"header {name} {shown(value)}: {fault}"


def shown(value: str, limit: int = 60) -> str:
    """A hostile value as it can be printed and logged: quoted, control and invisible characters
    escaped, cut to `limit` characters."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value)
    cut = f"…({len(value)} characters)" if len(text) > limit else ""
    return f"'{text[:limit]}{cut}'"
