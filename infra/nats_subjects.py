"""NATS names: subjects, KV keys, the KV bucket, the state stream and the query service.

Ids become subject tokens by replacing every character outside `[A-Za-z0-9_-]` with `_`.
Everything hangs off a prefix (default `paddock`) so tests and parallel deployments can isolate
themselves: prefix `t1` gives subjects `t1.standings.…`, bucket `T1_LATEST`, stream `T1_STATE`.
KV keys carry no prefix: the bucket already belongs to one.
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "paddock"
SERVICE_NAME = "paddock"
LATEST_BUCKET = "PADDOCK_LATEST"
STATE_STREAM = "PADDOCK_STATE"
QUERY_STANDINGS = "paddock.query.standings"
QUERY_INVITATIONS = "paddock.query.invitations"
QUERY_HISTORY = "paddock.query.history"
QUERY_ENDPOINTS = ("standings", "invitations", "history", "audit.explain", "audit.timeline",
                   "audit.diff", "entry_list", "entry_list_diff")

_OUTSIDE_TOKEN = re.compile(r"[^A-Za-z0-9_-]")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def token(value: str) -> str:
    """A subject token (and KV key part) for an id: `aslms-2023/24` → `aslms-2023_24`."""
    return _OUTSIDE_TOKEN.sub("_", value) or "_"


def check_prefix(prefix: str) -> str:
    """The prefix itself, if it is one or more dot-separated tokens; ValueError otherwise."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"NATS prefix '{prefix}' must be dot-separated tokens of [A-Za-z0-9_-]")
    return prefix


def standings_subject(championship: str, class_id: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{check_prefix(prefix)}.standings.{token(championship)}.{token(class_id)}"


def invitations_subject(event: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{check_prefix(prefix)}.invitations.{token(event)}"


def entry_list_subject(event: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{check_prefix(prefix)}.entry-list.{token(event)}"


def state_subjects(*, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The wildcards the state stream captures (and so what the service publishes and a
    subscriber may follow: infra/nats_authority.py derives both from this list)."""
    return [f"{check_prefix(prefix)}.standings.>", f"{prefix}.invitations.>",
            f"{prefix}.entry-list.>"]


def standings_key(championship: str, class_id: str) -> str:
    return f"standings.{token(championship)}.{token(class_id)}"


def invitations_key(event: str) -> str:
    return f"invitations.{token(event)}"


def entry_list_key(event: str) -> str:
    return f"entry-list.{token(event)}"


def bucket_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The latest-state KV bucket: `PADDOCK_LATEST` for the default prefix."""
    return f"{token(check_prefix(prefix)).upper()}_LATEST"


def state_stream_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The stream of published states: `PADDOCK_STATE` for the default prefix."""
    return f"{token(check_prefix(prefix)).upper()}_STATE"


def query_subject(endpoint: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """`paddock.query.standings` etc.; `endpoint` is one of QUERY_ENDPOINTS."""
    if endpoint not in QUERY_ENDPOINTS:
        raise ValueError(f"unknown query endpoint '{endpoint}' (one of {', '.join(QUERY_ENDPOINTS)})")
    return f"{check_prefix(prefix)}.query.{endpoint}"


def checkpoint_subject(*, prefix: str = DEFAULT_PREFIX) -> str:
    """Where the log's checkpoints (position + chain digest) are published."""
    return f"{check_prefix(prefix)}.audit.checkpoint"


def checkpoint_stream_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The stream keeping every published checkpoint: `PADDOCK_CHECKPOINTS` by default."""
    return f"{token(check_prefix(prefix)).upper()}_CHECKPOINTS"
