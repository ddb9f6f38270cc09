"""Who may publish and subscribe to what on the NATS server, and the nats-server configuration
that enforces it.

The permissions are data derived from domain/authority.py, so the server refuses what the
service would refuse anyway, before anything reaches the ingest stream:
- a producing role (timing, steward, official, organiser) may publish only its own kinds,
  `<prefix>.ingest.<role>.<kind>.<key>` (any partition key: one subject token; the service
  checks it against the message) or, unpartitioned as before issue 10,
  `<prefix>.ingest.<role>.<kind>`, and subscribe only to its own inbox, where JetStream acks and
  the service's replies come;
- the subscriber publishes nothing that writes: requests to the query service and the
  read-only JetStream API requests of the latest-state KV bucket; it subscribes to the state
  subjects (`state_subjects`: one wildcard per view the catalog of views publishes, today
  standings, invitations, entry lists), the checkpoints and its own inbox;
- the service (`paddock serve`) runs the JetStream API on its own streams only, publishes
  state, dead letters, checkpoints and replies, and answers the query service's requests.

Every user has its own inbox prefix (`_INBOX.<prefix>.<user>`, nats.connect(inbox_prefix=...)),
so no role can read another's replies. No credential is ever in the generated file: each user's
name and password are `$VARIABLE` references the server resolves from its environment (a
missing one stops it from starting). Tests: tests/unit/test_nats_authority.py and
tests/e2e/test_nats_permissions.py (a real nats-server started with the generated file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from domain.authority import KIND_ROLES, Role, kinds_of
from infra.nats_subjects import (
    DEFAULT_PREFIX,
    bucket_name,
    check_prefix,
    checkpoint_stream_name,
    checkpoint_subject,
    query_subjects,
    state_stream_name,
    state_subjects,
)
from projections.catalog import CATALOG, Catalog
from services.ingest_subjects import IngestSubject, SubjectError, published_subject

SERVICE = "service"
"""The paddock service's own user: not a domain role (it records nothing of its own)."""

PRODUCING_ROLES: tuple[Role, ...] = tuple(r for r in Role if kinds_of(r))
USERS: tuple[str, ...] = (SERVICE, *(r.value for r in Role))
STORE_DIR_ENV = "PADDOCK_NATS_STORE_DIR"
SHIPPED_CONFIG = Path(__file__).with_name("nats") / "paddock-server.conf"


@dataclass(frozen=True)
class Permissions:
    """One nats-server user: what it may publish and subscribe to, and where its secrets come
    from (the names of environment variables, never the values)."""

    user: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False
    why: str = field(default="", compare=False)

    @property
    def user_env(self) -> str:
        return credential_env(self.user)[0]

    @property
    def password_env(self) -> str:
        return credential_env(self.user)[1]


def credential_env(user: str) -> tuple[str, str]:
    """The environment variables holding a user's name and password on the server."""
    name = user.upper()
    return f"PADDOCK_NATS_{name}_USER", f"PADDOCK_NATS_{name}_PASSWORD"


def inbox_prefix(user: Role | str, prefix: str = DEFAULT_PREFIX) -> str:
    """The inbox prefix a user's client must connect with: `_INBOX.paddock.timing`."""
    return f"_INBOX.{check_prefix(prefix)}.{user}"


def ingest_subject(role: Role, kind: str, prefix: str = DEFAULT_PREFIX) -> str:
    """`paddock.ingest.steward.penalty.imposed`: the subject a kind is produced on, without its
    partition key (services/ingest_subjects.py)."""
    return f"{check_prefix(prefix)}.ingest.{role.value}.{kind}"


def ingest_subjects(role: Role, kind: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str]:
    """What a role may publish a kind on: the partitioned subjects (one key token), and the
    unpartitioned one still accepted."""
    subject = ingest_subject(role, kind, prefix)
    return f"{subject}.*", subject


def producer_permissions(role: Role, prefix: str = DEFAULT_PREFIX) -> Permissions:
    """A producing role: its own kinds, its own inbox, nothing else."""
    kinds = kinds_of(role)
    if not kinds:
        raise ValueError(f"a {role} produces nothing")
    return Permissions(
        user=role.value,
        publish=tuple(s for kind in kinds for s in ingest_subjects(role, kind, prefix)),
        subscribe=(f"{inbox_prefix(role, prefix)}.>",),
        why="publishes only its own kinds; reads only its own JetStream acks and replies",
    )


def kv_read_subjects(prefix: str = DEFAULT_PREFIX) -> tuple[str, ...]:
    """The JetStream API requests that read the latest-state bucket and change nothing:
    bind (stream info), get by key (message get, or direct get when the bucket allows it)."""
    bucket = bucket_name(prefix=prefix)
    stream = f"KV_{bucket}"
    return (f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.$KV.{bucket}.>")


def subscriber_permissions(prefix: str = DEFAULT_PREFIX, catalog: Catalog = CATALOG) -> Permissions:
    """Read only: live state by subscription, latest state from the KV bucket, queries.
    No subject it may publish to is captured by a stream or answered with a write."""
    return Permissions(
        user=Role.SUBSCRIBER.value,
        publish=(query_subjects(prefix=prefix), *kv_read_subjects(prefix)),
        subscribe=(*state_subjects(prefix=prefix, catalog=catalog), f"{prefix}.audit.>",
                   f"{inbox_prefix(Role.SUBSCRIBER, prefix)}.>"),
        why="subscribes to state and checkpoints; publishes only queries and read-only KV gets",
    )


def service_streams(prefix: str = DEFAULT_PREFIX) -> tuple[str, ...]:
    """The streams `paddock serve` creates and uses; its JetStream API access stops there."""
    from infra.nats_ingest import IngestTopology  # nats-py: not for `paddock --help`

    topology = IngestTopology(prefix=prefix)
    return (topology.stream, topology.dlq_stream, state_stream_name(prefix=prefix),
            f"KV_{bucket_name(prefix=prefix)}", checkpoint_stream_name(prefix=prefix))


def _stream_api(stream: str) -> tuple[str, ...]:
    """Create, update, read a stream and run its consumers; never delete or purge it."""
    return (
        f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}",
        f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.*.{stream}", f"$JS.API.CONSUMER.*.{stream}.>",
        f"$JS.API.CONSUMER.*.*.{stream}.>", f"$JS.ACK.{stream}.>",
    )


def service_permissions(prefix: str = DEFAULT_PREFIX, catalog: Catalog = CATALOG) -> Permissions:
    """The service: its streams' JetStream API, state, KV puts, dead letters, checkpoints,
    replies to producers' inboxes; query requests and micro discovery to answer."""
    from infra.nats_ingest import IngestTopology  # nats-py: not for `paddock --help`

    check_prefix(prefix)
    jetstream = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for stream in service_streams(prefix):
        jetstream.extend(_stream_api(stream))
    return Permissions(
        user=SERVICE,
        publish=(*jetstream, *state_subjects(prefix=prefix, catalog=catalog), f"$KV.{bucket_name(prefix=prefix)}.>",
                 f"{IngestTopology(prefix=prefix).dlq_subject('>')}", checkpoint_subject(prefix=prefix),
                 *(f"{inbox_prefix(r, prefix)}.>" for r in PRODUCING_ROLES)),
        subscribe=(f"{inbox_prefix(SERVICE, prefix)}.>", query_subjects(prefix=prefix), "$SRV.>"),
        allow_responses=True,
        why="runs ingest, projections, publisher, checkpoints and the query service",
    )


def all_permissions(prefix: str = DEFAULT_PREFIX, catalog: Catalog = CATALOG) -> list[Permissions]:
    """Every user, the service first, then the roles in domain/authority.py order."""
    roles = [producer_permissions(r, prefix) if r in PRODUCING_ROLES
             else subscriber_permissions(prefix, catalog) for r in Role]
    return [service_permissions(prefix, catalog), *roles]


def role_of_subject(subject: str, prefix: str = DEFAULT_PREFIX) -> Role | None:
    """The role that may publish on an ingest subject (partitioned or not); None for any
    other subject."""
    try:
        parsed = IngestSubject.parse(subject, prefix)
    except SubjectError:
        return None
    role = KIND_ROLES.get(parsed.kind)
    return role if parsed.group is None and role is not None and role.value == parsed.role else None


def producer_inbox(subjects: Iterable[str], prefix: str = DEFAULT_PREFIX) -> str | None:
    """The inbox prefix for a producer sending on these subjects, when one role sends them all
    (None otherwise: no single user may send them)."""
    roles = {role_of_subject(s, prefix) for s in subjects}
    if len(roles) != 1 or None in roles:
        return None
    [role] = roles
    assert role is not None
    return inbox_prefix(role, prefix)


# -- the nats-server configuration ------------------------------------------------------------


def render_config(prefix: str = DEFAULT_PREFIX, *, store_dir: str | None = None,
                  catalog: Catalog = CATALOG) -> str:
    """A complete nats-server configuration: JetStream on, one user per role, no credential.
    The store directory is `$PADDOCK_NATS_STORE_DIR` unless given (so tests and deployments
    choose it without editing the file)."""
    check_prefix(prefix)
    users = all_permissions(prefix, catalog)
    width = max(len(p.user_env) + len(p.password_env) for p in users) + 5
    lines = [
        f"# nats-server configuration for Paddock, subject prefix '{prefix}'.",
        f"# Generated by `paddock nats-config --prefix {prefix}` from domain/authority.py: do not edit;",
        "# regenerate when the roles or their kinds change (a test checks the shipped file is current).",
        "#",
        "# No credential is in this file: the server reads each user's name and password from its",
        "# environment and refuses to start when one is missing. Passwords may be bcrypt hashes",
        "# (`nats server passwd`). The server parses each value as a config token: use names and",
        "# passwords of letters, digits, '_' and '-' (starting with a letter), or quote the value.",
    ]
    for p in users:
        pair = f"{p.user_env} / {p.password_env}"
        lines.append(f"#   {pair:<{width}}{p.user}")
    lines += [
        "# Every client must connect with its user's inbox prefix, _INBOX.<prefix>.<user>",
        f"# ({inbox_prefix('timing', prefix)} for the timing system); `paddock serve` and",
        "# `paddock produce` do. Roles and permissions: docs/SERVICE.md.",
        "",
        "jetstream {",
        f"  store_dir: {_quote(store_dir) if store_dir else '$' + STORE_DIR_ENV}",
        "}",
        "",
        "authorization {",
        "  users = [",
    ]
    for p in users:
        lines += _user_block(p)
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def _user_block(p: Permissions) -> list[str]:
    block = [
        f"    # {p.user}: {p.why}",
        "    {",
        f"      user: ${p.user_env}",
        f"      password: ${p.password_env}",
        "      permissions: {",
        *_subject_list("publish", p.publish),
        *_subject_list("subscribe", p.subscribe),
    ]
    if p.allow_responses:
        block.append("        allow_responses: true")
    return [*block, "      }", "    }"]


def _subject_list(name: str, subjects: tuple[str, ...]) -> list[str]:
    return [f"        {name}: {{", "          allow: [",
            *(f"            {_quote(s)}" for s in subjects), "          ]", "        }"]


def _quote(value: str) -> str:
    """A double-quoted config string: quoted, `$JS.API...` is a subject, not a variable."""
    return json.dumps(value)


MAX_REPLY_SUBJECT = 256
_REPLY_TOKEN = re.compile(r"(?:(?![.*>])[!-~])+")  # printable ASCII; no space, dot or wildcard


def reply_fault(reply_to: str, subject: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """Why the service may not answer a message on the reply subject its sender named (None: it
    may). Only a well-formed inbox subject, and under per-role inboxes only the sending role's
    own, so a producer cannot make the service write into state subjects or another role's
    replies, nor break its connection with a subject the server cannot parse."""
    if len(reply_to) > MAX_REPLY_SUBJECT:
        return f"{len(reply_to)} characters; the limit is {MAX_REPLY_SUBJECT}"
    if not all(_REPLY_TOKEN.fullmatch(token) for token in reply_to.split(".")):
        return ("not a subject one can publish to: printable ASCII tokens without spaces or "
                "wildcards, separated by single dots")
    if not reply_to.startswith("_INBOX."):
        return "not an inbox (_INBOX.…)"
    if not reply_to.startswith(f"_INBOX.{prefix}."):
        return None  # a deployment without per-role inboxes
    role = published_subject(subject, prefix).removeprefix(f"{prefix}.ingest.").split(".", 1)[0]
    if not reply_to.startswith(f"{inbox_prefix(role, prefix)}."):
        return f"not the sending role's inbox ({inbox_prefix(role, prefix)}.…)"
    return None


def reply_allowed(reply_to: str, subject: str, prefix: str = DEFAULT_PREFIX) -> bool:
    """Whether the service may answer on `reply_to` (see `reply_fault`)."""
    return reply_fault(reply_to, subject, prefix) is None
