"""NATS names: subjects, KV keys, the KV bucket, the state stream and the query service.

Ids become subject tokens by replacing every character outside `[A-Za-z0-9_-]` with `_`.
Everything hangs off a prefix (default `paddock`) so tests and parallel deployments can isolate
themselves: prefix `t1` gives subjects `t1.standings.…`, bucket `T1_LATEST`, stream `T1_STATE`.
KV keys carry no prefix: the bucket already belongs to one.

The state subjects and KV keys of the published views, and the query subjects, come from the
catalog of views (projections/catalog.py): a view declared there has its names here.
"""

from __future__ import annotations

import re

from projections.catalog import CATALOG, Catalog, View
from services.ingest_subjects import subject_token

DEFAULT_PREFIX = "paddock"
SERVICE_NAME = "paddock"
LATEST_BUCKET = "PADDOCK_LATEST"
STATE_STREAM = "PADDOCK_STATE"
QUERY_STANDINGS = "paddock.query.standings"
QUERY_INVITATIONS = "paddock.query.invitations"
QUERY_HISTORY = "paddock.query.history"
QUERY_ENDPOINTS = CATALOG.queries

_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def token(value: str) -> str:
    """A subject token (and KV key part) for an id: `aslms-2023/24` → `aslms-2023_24`."""
    return subject_token(value)


def check_prefix(prefix: str) -> str:
    """The prefix itself, if it is one or more dot-separated tokens; ValueError otherwise."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"NATS prefix '{prefix}' must be dot-separated tokens of [A-Za-z0-9_-]")
    return prefix


def state_subject(view: View, key: str, class_id: str | None = None, *,
                  prefix: str = DEFAULT_PREFIX) -> str:
    """Where a published view goes: `<prefix>.<subject>.<key>`, then `.<class>` when it is
    published per class."""
    return f"{check_prefix(prefix)}.{state_key(view, key, class_id)}"


def state_key(view: View, key: str, class_id: str | None = None) -> str:
    """A published view's KV key: its subject without the prefix."""
    return ".".join([view.subject, token(key), *([token(class_id)] if class_id is not None else [])])


def standings_subject(championship: str, class_id: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return state_subject(CATALOG.view("standings"), championship, class_id, prefix=prefix)


def invitations_subject(event: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return state_subject(CATALOG.view("invitations"), event, prefix=prefix)


def entry_list_subject(event: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    return state_subject(CATALOG.view("entry-list"), event, prefix=prefix)


def state_subjects(*, prefix: str = DEFAULT_PREFIX, catalog: Catalog = CATALOG) -> list[str]:
    """The wildcards the state stream captures, one per published view of the catalog (and so
    what the service publishes and a subscriber may follow: infra/nats_authority.py derives
    both from this list)."""
    return [f"{check_prefix(prefix)}.{view.subject}.>" for view in catalog.published]


def standings_key(championship: str, class_id: str) -> str:
    return state_key(CATALOG.view("standings"), championship, class_id)


def invitations_key(event: str) -> str:
    return state_key(CATALOG.view("invitations"), event)


def entry_list_key(event: str) -> str:
    return state_key(CATALOG.view("entry-list"), event)


def bucket_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The latest-state KV bucket: `PADDOCK_LATEST` for the default prefix."""
    return f"{token(check_prefix(prefix)).upper()}_LATEST"


def state_stream_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The stream of published states: `PADDOCK_STATE` for the default prefix."""
    return f"{token(check_prefix(prefix)).upper()}_STATE"


def query_subject(endpoint: str, *, prefix: str = DEFAULT_PREFIX, catalog: Catalog = CATALOG) -> str:
    """`paddock.query.standings` etc.; `endpoint` is the query of a view of the catalog."""
    if endpoint not in catalog.queries:
        raise ValueError(f"unknown query endpoint '{endpoint}' (one of {', '.join(catalog.queries)})")
    return f"{check_prefix(prefix)}.query.{endpoint}"


def query_subjects(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The wildcard of every query, whatever views the catalog holds."""
    return f"{check_prefix(prefix)}.query.>"


def checkpoint_subject(*, prefix: str = DEFAULT_PREFIX) -> str:
    """Where the log's checkpoints (position + chain digest) are published."""
    return f"{check_prefix(prefix)}.audit.checkpoint"


def checkpoint_stream_name(*, prefix: str = DEFAULT_PREFIX) -> str:
    """The stream keeping every published checkpoint: `PADDOCK_CHECKPOINTS` by default."""
    return f"{token(check_prefix(prefix)).upper()}_CHECKPOINTS"
