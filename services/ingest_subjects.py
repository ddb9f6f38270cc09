"""Ingest subjects: where a producer publishes a message, and the partition key they carry.

A producer publishes on `<prefix>.ingest.<role>.<kind>.<key>`: the role (which the server's
permissions enforce), the kind, and the message's partition key, the subject token of the id of
its home partition: the championship it is about (classifications, poles, penalties, ties, a
championship's season file), the target event (invitation decisions, an event's season file),
the award. The ingest stream maps the key to one of a fixed number of groups with nats-server's
`partition()` subject transform (infra/nats_ingest.py), so that every message about one
championship lands in one group, in order, and a group has its own durable consumer.

The unpartitioned form `<prefix>.ingest.<role>.<kind>` (before issue 10) is still accepted: its
messages share one group of their own, in order among themselves (docs/SERVICE.md, Ingest
groups). Pure functions: no NATS here, and no pydantic until a message is at hand (the CLI's
start-up imports this module through infra/nats_subjects.py).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.authority import KIND_ROLES, role_of

if TYPE_CHECKING:
    from services.contracts import Contract

MAX_KEY = 80
"""The longest partition key: the longest id a contract accepts (`Ident`)."""
_OUTSIDE_TOKEN = re.compile(r"[^A-Za-z0-9_-]")
_KEY = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY}}}")
_GROUP = re.compile(r"0|[1-9][0-9]{0,5}")
KEY_FIELDS: dict[str, str] = {
    **{kind: "championship" for kind in KIND_ROLES},
    "award.decided": "award",
    "invitation.transition": "event",
    "season.registered": "id",
}
"""The field of each kind whose value is its partition key (a season file's `id`)."""

assert all(kind.count(".") == 1 for kind in KIND_ROLES), "kinds are two subject tokens"


class SubjectError(ValueError):
    """A subject that is not an ingest subject of this prefix."""


def subject_token(value: str) -> str:
    """A subject token for an id: `aslms-2023/24` → `aslms-2023_24` (every character outside
    `[A-Za-z0-9_-]` becomes `_`)."""
    return _OUTSIDE_TOKEN.sub("_", value) or "_"


def key_fault(key: str) -> str | None:
    """Why a subject token cannot be a partition key (None: it can)."""
    if not _KEY.fullmatch(key):
        return (f"a partition key is 1 to {MAX_KEY} characters of [A-Za-z0-9_-] "
                f"(the id's subject token)")
    return None


def partition_key(message: Contract) -> str | None:
    """The subject token of the message's home partition id; None for a season text whose id
    cannot be read or is no valid id (the service rejects that text anyway)."""
    from services import contracts as c

    field = KEY_FIELDS[c.kind_of(type(message))]
    if isinstance(message, c.SeasonRegisteredV1):
        value = _season_id(message.text)
    else:
        value = getattr(message, field)
    return key_of(value)


def key_of(value: object) -> str | None:
    """The partition key of a home partition's id (None: no usable id)."""
    if not isinstance(value, str) or not value:
        return None
    key = subject_token(value)
    return key if key_fault(key) is None else None


def _season_id(text: str) -> object:
    try:
        return tomllib.loads(text).get("id")
    except (tomllib.TOMLDecodeError, RecursionError):
        return None


def unpartitioned_subject(kind: str, prefix: str = "paddock") -> str:
    """`paddock.ingest.steward.penalty.imposed`: the form before issue 10 (one group)."""
    return f"{prefix}.ingest.{role_of(kind).value}.{kind}"


def partitioned_subject(kind: str, key: str, prefix: str = "paddock") -> str:
    """`paddock.ingest.timing.classification.published.aslms-2023-24`; ValueError for a key
    that is not a subject token of at most MAX_KEY characters."""
    fault = key_fault(key)
    if fault:
        raise SubjectError(f"partition key '{key[:MAX_KEY]}': {fault}")
    return f"{unpartitioned_subject(kind, prefix)}.{key}"


def subject_of(message: Contract, prefix: str = "paddock") -> str:
    """Where a producer publishes a message: partitioned by its home partition's key."""
    from services.contracts import kind_of

    return subject_for(kind_of(type(message)), partition_key(message), prefix)


def subject_for(kind: str, key: str | None, prefix: str = "paddock") -> str:
    """A kind's subject with its partition key, or the unpartitioned form without one."""
    return partitioned_subject(kind, key, prefix) if key else unpartitioned_subject(kind, prefix)


@dataclass(frozen=True)
class IngestSubject:
    """An ingest subject taken apart: as published (group None) or as the stream stores a
    partitioned one (`<prefix>.ingest.<group>.<role>.<kind>.<key>`)."""

    prefix: str
    role: str
    kind: str
    key: str | None = None
    group: int | None = None

    @property
    def published(self) -> str:
        """The subject as its producer published it."""
        base = f"{self.prefix}.ingest.{self.role}.{self.kind}"
        return f"{base}.{self.key}" if self.key is not None else base

    @classmethod
    def parse(cls, subject: str, prefix: str) -> IngestSubject:
        """SubjectError for anything but the three shapes; the role and kind are not checked
        against each other here (the service does, with a reason)."""
        head = f"{prefix}.ingest."
        if not subject.startswith(head):
            raise SubjectError(f"'{subject[:200]}' is not under {head}")
        tokens = subject[len(head):].split(".")
        group: int | None = None
        if len(tokens) == 5:
            if not _GROUP.fullmatch(tokens[0]):
                raise SubjectError(f"'{subject[:200]}': a stored partitioned subject starts "
                                   "with its group number")
            group, tokens = int(tokens[0]), tokens[1:]
        if len(tokens) not in (3, 4) or not all(tokens):
            raise SubjectError(f"'{subject[:200]}': expected {head}<role>.<kind>.<key> "
                               f"(or, unpartitioned, {head}<role>.<kind>)")
        key = tokens[3] if len(tokens) == 4 else None
        if key is not None and key_fault(key):
            raise SubjectError(f"'{subject[:200]}': partition key: {key_fault(key)}")
        return cls(prefix, tokens[0], f"{tokens[1]}.{tokens[2]}", key, group)


def published_subject(subject: str, prefix: str) -> str:
    """The subject a producer published, from the one the stream stored (the group dropped);
    an unparsable subject is returned as it is (the service rejects it with a reason)."""
    try:
        return IngestSubject.parse(subject, prefix).published
    except SubjectError:
        return subject


FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def ingest_group(key: str, groups: int) -> int:
    """The group nats-server's `{{partition(groups, n)}}` transform puts a key in: FNV-1a
    (32 bits) of the token, modulo the groups. Reproduced here for tests, benchmarks and docs
    (the server computes it; tests/e2e pins the two against each other)."""
    h = FNV_OFFSET
    for byte in key.encode():
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h % groups
