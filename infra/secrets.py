"""Secrets this process knows (passwords in store and NATS URLs), masked in every message and
log line: an error must never print a credential, whatever library wrote its text."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
_USER_INFO = re.compile(r"//[^/@:]*:([^/@]*)@")
_SECRETS: set[str] = set()


def remember_url(url: str | None) -> None:
    """Remember the password of a URL (as written, decoded and re-encoded)."""
    if not url:
        return
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed URL (broken IPv6 address): its password all the same
        found = _USER_INFO.search(url)
        password = found.group(1) if found else None
    if password:
        remember(password, unquote(password), quote(unquote(password), safe=""))


def remember(*secrets: str | None) -> None:
    _SECRETS.update(s for s in secrets if s)


def mask(text: str) -> str:
    """`text` with every remembered secret replaced by `***` (longest first)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: masks secrets in every string value of a log line."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask(value)
    return event
