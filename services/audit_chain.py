"""The hash chain over the event log, as pure functions: no I/O here.

One chain per partition: every event appended to the log gets a digest that covers its content
and the digest of the previous event of its home partition (domain/partitions.py):
`digest(P) = sha256(digest(previous in partition) ‖ content(P))`, a partition's first event
being chained to GENESIS. Appends of different partitions so never wait for one another's
digest. The recorders (infra/chain/) store `(position, previous, digest, partition)` beside each
event in the same transaction; `walk` re-reads both and names what no longer fits. Rows of
partition "" are the one global chain of logs written before the chain was split (every event
chained to the one before it in the log): they are verified by the same rule, as one partition.
Row 0 of every chain is the genesis row `(0, GENESIS, GENESIS)`, written when the (empty) log is
created: a walk from the start checks it, so an edited or deleted row 0 is a finding.

A checkpoint's digest is not a stored digest: it is the history digest, the fold of every
event's content in log position order up to its position (`Verdict.head_digest` at the head),
recomputed from the event rows. It so
covers every partition's head (an event removed with its digest at the end of its partition
breaks no link, but changes the fold), needs no memory per partition, and means what it meant
when the chain was global (format /1 checkpoints taken before the split still verify).

Content is length-prefixed, so no two different field tuples give the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "paddock.audit.checkpoint/1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

FindingKind = Literal["modified", "missing", "unchained", "broken_link", "genesis", "missing_chain",
                      "checkpoint", "truncated"]


def content_bytes(position: int, originator_id: str, originator_version: int, topic: str,
                  state: bytes) -> bytes:
    """The canonical bytes of one stored event at one log position (each field length-prefixed)."""
    fields = (str(position).encode(), originator_id.encode(), str(originator_version).encode(),
              topic.encode(), state)
    return b"".join(len(f).to_bytes(8, "big") + f for f in fields)


def link_digest(previous: str, content: bytes) -> str:
    """sha256(previous digest ‖ content), hex."""
    return hashlib.sha256(bytes.fromhex(previous) + content).hexdigest()


LEGACY = ""
"""The partition of chain rows written while the chain was one global chain."""


@dataclass(frozen=True)
class Link:
    """One stored chain row: the digest at `position`, the digest it was chained to (the
    previous one of its partition), and that partition."""

    position: int
    previous: str
    digest: str
    partition: str = LEGACY


def extend(previous: str, contents: Iterable[tuple[int, bytes]], partition: str = LEGACY
           ) -> list[Link]:
    """The links of new events (position, content) of one partition, in position order, after
    `previous` (the partition's last digest)."""
    links = []
    for position, content in sorted(contents, key=lambda item: item[0]):
        digest = link_digest(previous, content)
        links.append(Link(position, previous, digest, partition))
        previous = digest
    return links


def chain_partitions(heads: dict[str, str], contents: Iterable[tuple[int, str, bytes]]
                     ) -> list[Link]:
    """The links of new events (position, home partition, content) of any partitions, each
    chained after its partition's last digest in `heads` (GENESIS when absent)."""
    by_partition: dict[str, list[tuple[int, bytes]]] = {}
    for position, partition, content in contents:
        by_partition.setdefault(partition, []).append((position, content))
    links = [link for partition, items in by_partition.items()
             for link in extend(heads.get(partition, GENESIS), items, partition)]
    return sorted(links, key=lambda link: link.position)


@dataclass(frozen=True)
class Entry:
    """A log position as found in the store: the event's content (None: no event row) and its
    stored link (None: no digest)."""

    position: int
    content: bytes | None
    link: Link | None


def merge(events: Iterable[tuple[int, bytes]], links: Iterable[Link]) -> Iterator[Entry]:
    """Pair event rows and chain rows by position; both inputs ascend by position."""
    event_rows, link_rows = iter(events), iter(links)
    event, link = next(event_rows, None), next(link_rows, None)
    while event is not None or link is not None:
        if link is None or (event is not None and event[0] < link.position):
            assert event is not None
            yield Entry(event[0], event[1], None)
            event = next(event_rows, None)
        elif event is None or link.position < event[0]:
            yield Entry(link.position, None, link)
            link = next(link_rows, None)
        else:
            yield Entry(event[0], event[1], link)
            event, link = next(event_rows, None), next(link_rows, None)


@dataclass(frozen=True)
class Checkpoint:
    """A digest someone kept: the log's history up to `position` hashed to `digest`."""

    position: int
    digest: str
    taken_at: str | None = None
    store: str | None = None
    source: str = ""  # where it came from (a file name), for messages only

    def to_json(self) -> dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "store": self.store, "position": self.position,
                "digest": self.digest, "taken_at": self.taken_at}


class CheckpointFormatError(ValueError):
    """A checkpoint that is not one: says which field of which source is wrong."""


def checkpoint_from_json(data: Any, source: str) -> Checkpoint:
    """A checkpoint from its JSON form (as exported or published); raises naming the field."""
    if not isinstance(data, dict):
        raise CheckpointFormatError(f"{source}: a checkpoint is a JSON object, got {type(data).__name__}")
    if data.get("format", CHECKPOINT_FORMAT) != CHECKPOINT_FORMAT:
        raise CheckpointFormatError(f"{source}: unknown checkpoint format {data.get('format')!r} "
                                    f"(expected {CHECKPOINT_FORMAT})")
    position, digest = data.get("position"), data.get("digest")
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        raise CheckpointFormatError(f"{source}: 'position' must be a log position ≥ 1, got {position!r}")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise CheckpointFormatError(f"{source}: 'digest' must be 64 lowercase hex characters, "
                                    f"got {digest!r}")
    taken_at, store = data.get("taken_at"), data.get("store")
    return Checkpoint(position, digest, taken_at if isinstance(taken_at, str) else None,
                      store if isinstance(store, str) else None, source)


@dataclass(frozen=True)
class Finding:
    """One broken link: where, what kind, and a one-line explanation for people."""

    position: int
    kind: FindingKind
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "kind": self.kind, "explanation": self.explanation}


@dataclass(frozen=True)
class Verdict:
    """What a walk found. `head_position` is the last event row's; `head_digest` the history
    digest of the event rows up to it as they are now (what a checkpoint of it keeps)."""

    events: int
    head_position: int
    head_digest: str
    findings: tuple[Finding, ...] = ()
    checkpoints: tuple[Checkpoint, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "broken", "events": self.events,
                "head_position": self.head_position, "head_digest": self.head_digest,
                "checkpoints": [c.to_json() for c in self.checkpoints],
                "first": self.first.to_json() if self.first else None,
                "findings": [f.to_json() for f in self.findings]}


def _short(digest: str) -> str:
    return digest[:12] + "…"


Prior = Callable[[str, int], tuple[int, str]]
"""(partition, position) → the position and stored digest of that partition's last chain row
before `position` ((0, GENESIS) when none): where a walk that starts mid-log picks a partition up."""


def walk(entries: Iterable[Entry], checkpoints: Sequence[Checkpoint] = (), *,
         after: int = 0, previous: str = GENESIS, chained: bool = True,
         prior: Prior | None = None) -> Verdict:
    """Walk the log in position order and name every broken link, lowest position first.

    Each stored link is checked against its own content and against the link before it in its
    partition; after a break the walk goes on from the stored digest, so one tampered row gives
    one finding (a swap of two payloads gives two: the first names the lower position).
    Checkpoints are checked against the history digest recomputed from the event rows alone
    (ignoring stored digests), so a chain rewritten consistently from some position on still
    fails a checkpoint kept before, and a checkpoint beyond the head shows the newest events were
    cut. `after`/`previous` start a walk mid-log after a verified history digest; `prior` gives
    each partition's last link before the walk (without it, a mid-log walk assumes the one
    legacy partition chained at `after` to `previous`). A walk from the start also checks the
    genesis row. `chained=False`: the store has no chain table, one finding for the whole log.
    Memory: one digest per partition met.
    """
    wanted: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        wanted.setdefault(checkpoint.position, []).append(checkpoint)
    findings: list[Finding] = []
    heads = _Heads(after, previous, prior)
    recomputed = previous  # the history digest of the event rows as they are
    events, head_position, first_event = 0, after, 0
    genesis: Link | None = None
    for entry in entries:
        p = entry.position
        if p == 0:
            genesis = entry.link
            continue
        if entry.content is not None:
            events += 1
            recomputed = link_digest(recomputed, entry.content)
            head_position, first_event = p, first_event or p
        finding = _check(entry, heads) if chained else None
        if finding is not None:
            findings.append(finding)
        if entry.link is not None:
            heads.moved(entry.link)
        for checkpoint in wanted.pop(p, []):
            if entry.content is None:
                findings.append(Finding(p, "checkpoint", f"checkpoint{_from(checkpoint)} is at "
                                        f"position {p}, whose event row is gone"))
            elif recomputed != checkpoint.digest:
                findings.append(Finding(p, "checkpoint", _rewritten(checkpoint, recomputed)))
    if chained and after == 0:
        findings += _genesis(genesis)
    elif not chained and events:
        findings.append(Finding(first_event, "missing_chain", (
            f"the log holds {events} events (positions {first_event} to {head_position}) but no "
            "hash chain: its chain table was dropped, or the log was written without one")))
    findings += _cut(wanted, head_position)
    findings.sort(key=lambda f: f.position)
    return Verdict(events, head_position, recomputed, tuple(findings), tuple(checkpoints))


class _Heads:
    """The last stored link of every partition the walk has met: (position, digest)."""

    def __init__(self, after: int, previous: str, prior: Prior | None) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._after, self._previous, self._prior = after, previous, prior

    def before(self, partition: str, position: int) -> tuple[int, str]:
        head = self._heads.get(partition)
        if head is None:
            if self._after == 0:
                head = (0, GENESIS)
            elif self._prior is not None:
                head = self._prior(partition, position)
            else:
                head = (self._after, self._previous) if partition == LEGACY else (0, GENESIS)
        return head

    def moved(self, link: Link) -> None:
        self._heads[link.partition] = (link.position, link.digest)


def _genesis(link: Link | None) -> list[Finding]:
    """The genesis row, if it is not the one every chain starts from."""
    if link is None:
        return [Finding(0, "genesis", "chain row 0 (the genesis row) is gone: it was deleted")]
    if (link.previous, link.digest) != (GENESIS, GENESIS):
        return [Finding(0, "genesis", f"chain row 0 (the genesis row) holds {link.previous[:12]!r}/"
                        f"{link.digest[:12]!r}, not the 64 zeros every chain starts from: "
                        "it was edited")]
    return []


def _cut(wanted: dict[int, list[Checkpoint]], head_position: int) -> list[Finding]:
    """Checkpoints the walk never reached: beyond the head (the newest events were cut), or at
    a position with neither event row nor digest."""
    findings = []
    for position, kept in sorted(wanted.items()):
        for checkpoint in kept:
            if position > head_position:
                findings.append(Finding(position, "truncated", (
                    f"checkpoint{_from(checkpoint)} is at position {position}, beyond the head "
                    f"(head {head_position}): the newest events were removed")))
            else:
                findings.append(Finding(position, "checkpoint", (
                    f"checkpoint{_from(checkpoint)} is at position {position}, not in the log "
                    f"(head {head_position}): the events up to it were removed")))
    return findings


def _check(entry: Entry, heads: _Heads) -> Finding | None:
    p, link = entry.position, entry.link
    if link is None:
        return Finding(p, "unchained", f"event row at position {p} has no digest: it was "
                       "added outside Paddock (inserted)")
    if entry.content is None:
        return Finding(p, "missing", f"position {p} is chained (digest {_short(link.digest)}) but "
                       "its event row is gone (deleted)")
    if not (_HEX64.match(link.previous) and _HEX64.match(link.digest)):
        return Finding(p, "modified", f"chain row at position {p} holds no valid digests: "
                       "it was edited")
    if link_digest(link.previous, entry.content) != link.digest:
        return Finding(p, "modified", f"event at position {p} does not match its stored digest "
                       f"{_short(link.digest)}: its payload or metadata was changed")
    last, expected = heads.before(link.partition, p)
    if link.previous != expected:
        before = f"position {last}" if last else "the genesis"
        within = f" of partition {link.partition}" if link.partition else ""
        return Finding(p, "broken_link", (
            f"position {p} was chained to {_short(link.previous)}, but the link before it"
            f"{within} ({before}) is {_short(expected)}: events between them were removed or "
            "reordered, or the chain row was moved to another partition"))
    return None


def _from(checkpoint: Checkpoint) -> str:
    parts = [s for s in (checkpoint.source, checkpoint.taken_at and f"taken {checkpoint.taken_at}") if s]
    return f" ({', '.join(parts)})" if parts else ""


def _rewritten(checkpoint: Checkpoint, recomputed: str) -> str:
    return (f"history up to position {checkpoint.position} hashes to {_short(recomputed)}, "
            f"the checkpoint{_from(checkpoint)} kept {_short(checkpoint.digest)}: "
            "it was rewritten at or before that position")
