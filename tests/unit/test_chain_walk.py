"""The pure hash-chain walk (services/audit_chain.py), table-driven over every kind of tampering
on a synthetic six-event log: what is found, and where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.audit_chain import (
    GENESIS,
    Checkpoint,
    CheckpointFormatError,
    Entry,
    Link,
    checkpoint_from_json,
    content_bytes,
    extend,
    link_digest,
    merge,
    walk,
)

HEAD = 6
ANCHOR = Link(0, GENESIS, GENESIS)  # row 0 of every chain table


def content(position: int, state: str | None = None) -> bytes:
    return content_bytes(position, f"aggregate-{position % 2}", position, "paddock.Fact",
                         (state or f"state of {position}").encode())


@dataclass
class Log:
    """Event rows and chain rows by position, as a store would hold them."""

    events: dict[int, bytes] = field(default_factory=dict)
    links: dict[int, Link] = field(default_factory=dict)

    @classmethod
    def intact(cls) -> Log:
        events = {p: content(p) for p in range(1, HEAD + 1)}
        links = {link.position: link for link in extend(GENESIS, events.items())}
        return cls(events, {0: ANCHOR, **links})

    def entries(self) -> list[Entry]:
        return list(merge(sorted(self.events.items()), [self.links[p] for p in sorted(self.links)]))

    def digest(self, position: int) -> str:
        return self.links[position].digest


ORIGINAL = Log.intact()


def modify(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        log.events[p] = content(p, "points: 99")
    return change


def swap(p: int, q: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:  # the payloads change places; positions and ids stay
        log.events[p], log.events[q] = content(p, f"state of {q}"), content(q, f"state of {p}")
    return change


def delete_event(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        del log.events[p]
    return change


def delete_both(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        del log.events[p], log.links[p]
    return change


def insert_event(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        log.events[p] = content(p, "a fact nobody recorded")
    return change


def delete_link(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        del log.links[p]
    return change


def insert_in_a_gap(p: int) -> Callable[[Log], None]:
    """An event row where one and its digest were deleted: a position no digest covers."""
    def change(log: Log) -> None:
        delete_both(p)(log)
        insert_event(p)(log)
    return change


def garble_link(p: int) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        log.links[p] = Link(p, log.links[p].previous, "not a digest")
    return change


def rewrite_from(p: int) -> Callable[[Log], None]:
    """Modify position p and recompute every digest from it: the chain itself is consistent."""
    def change(log: Log) -> None:
        log.events[p] = content(p, "rewritten")
        previous = log.links[p - 1].digest if p > 1 else GENESIS
        for link in extend(previous, [(q, log.events[q]) for q in range(p, HEAD + 1)]):
            log.links[link.position] = link
    return change


def edit_anchor(previous: str, digest: str) -> Callable[[Log], None]:
    def change(log: Log) -> None:
        log.links[0] = Link(0, previous, digest)
    return change


def drop_chain(log: Log) -> None:
    log.links.clear()


def nothing(log: Log) -> None:
    pass


def kept(position: int) -> Checkpoint:
    """A checkpoint of the untouched log."""
    return Checkpoint(position, ORIGINAL.digest(position), taken_at="2024-02-11T18:00:00Z")


CASES: list[tuple[str, Callable[[Log], None], list[Checkpoint], list[tuple[int, str]]]] = [
    ("untouched", nothing, [], []),
    ("untouched, checkpoints match", nothing, [kept(1), kept(4), kept(HEAD)], []),
    ("payload modified", modify(3), [], [(3, "modified")]),
    ("first payload modified", modify(1), [], [(1, "modified")]),
    ("event row deleted", delete_event(4), [], [(4, "missing")]),
    ("last event row deleted", delete_event(HEAD), [], [(HEAD, "missing")]),
    ("event inserted at the end", insert_event(HEAD + 1), [], [(HEAD + 1, "unchained")]),
    ("event inserted in a gap", insert_in_a_gap(3), [], [(3, "unchained"), (4, "broken_link")]),
    ("two payloads swapped", swap(2, 5), [], [(2, "modified"), (5, "modified")]),
    ("neighbours swapped", swap(5, 6), [], [(5, "modified"), (6, "modified")]),
    ("event and its digest deleted", delete_both(3), [], [(4, "broken_link")]),
    ("first event and digest deleted", delete_both(1), [], [(2, "broken_link")]),
    ("digest row deleted", delete_link(4), [], [(4, "unchained"), (5, "broken_link")]),
    ("digest row garbled", garble_link(2), [], [(2, "modified"), (3, "broken_link")]),
    ("consistent rewrite, no checkpoint", rewrite_from(3), [], []),
    ("consistent rewrite, checkpoint before it", rewrite_from(3), [kept(2)], []),
    ("consistent rewrite, checkpoint at it", rewrite_from(3), [kept(3)], [(3, "checkpoint")]),
    ("consistent rewrite, checkpoint after it", rewrite_from(3), [kept(2), kept(5)],
     [(5, "checkpoint")]),
    ("tail truncated, no checkpoint", delete_both(HEAD), [], []),
    ("tail truncated, checkpoint of the head", delete_both(HEAD), [kept(HEAD)],
     [(HEAD, "truncated")]),
    ("genesis digest edited", edit_anchor(GENESIS, "ab" * 32), [], [(0, "genesis")]),
    ("genesis previous edited", edit_anchor("ab" * 32, GENESIS), [], [(0, "genesis")]),
    ("genesis garbled", edit_anchor("x", "y"), [], [(0, "genesis")]),
    ("genesis row deleted", delete_link(0), [], [(0, "genesis")]),
    ("whole chain dropped", drop_chain, [], [(0, "genesis")] + [(p, "unchained") for p in range(1, HEAD + 1)]),
    ("checkpoint at a deleted event", delete_event(4), [kept(4)], [(4, "missing"), (4, "checkpoint")]),
    ("checkpoint after a deleted event", delete_event(2), [kept(4)],
     [(2, "missing"), (4, "checkpoint")]),
    ("checkpoint with another digest", nothing, [Checkpoint(3, "ab" * 32)], [(3, "checkpoint")]),
]


@pytest.mark.parametrize(("tamper", "checkpoints", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_walk_names_each_broken_link_at_its_position(
        tamper: Callable[[Log], None], checkpoints: list[Checkpoint],
        expected: list[tuple[int, str]]) -> None:
    log = Log.intact()
    tamper(log)
    verdict = walk(log.entries(), checkpoints)
    assert [(f.position, f.kind) for f in verdict.findings] == expected
    assert verdict.ok is (not expected)
    assert all(str(f.position) in f.explanation for f in verdict.findings)
    assert verdict.first == (verdict.findings[0] if expected else None)
    assert verdict.events == len(log.events)


def test_an_intact_walk_reports_the_head_and_its_digest() -> None:
    verdict = walk(ORIGINAL.entries())
    assert (verdict.ok, verdict.events, verdict.head_position) == (True, HEAD, HEAD)
    assert verdict.head_digest == ORIGINAL.digest(HEAD)


def test_an_empty_log_is_intact_at_the_genesis() -> None:
    verdict = walk([Entry(0, None, ANCHOR)])
    assert (verdict.ok, verdict.events, verdict.head_position, verdict.head_digest) == (
        True, 0, 0, GENESIS)


@pytest.mark.parametrize(("previous", "expected"), [
    (ORIGINAL.digest(3), []),
    (ORIGINAL.digest(2), [(4, "broken_link")]),
], ids=["from its digest", "from another digest"])
def test_a_walk_can_start_from_a_verified_link(previous: str, expected: list[tuple[int, str]]) -> None:
    rest = [e for e in ORIGINAL.entries() if e.position > 3]
    verdict = walk(rest, after=3, previous=previous)
    assert [(f.position, f.kind) for f in verdict.findings] == expected
    assert (verdict.events, verdict.head_position) == (HEAD - 3, HEAD)
    assert (verdict.head_digest == ORIGINAL.digest(HEAD)) is verdict.ok


def test_merge_pairs_rows_by_position_and_keeps_the_unpaired() -> None:
    links = [Link(1, GENESIS, "a"), Link(2, "a", "b"), Link(4, "b", "c")]
    entries = list(merge([(1, b"x"), (3, b"y"), (4, b"z")], links))
    assert [(e.position, e.content, e.link) for e in entries] == [
        (1, b"x", links[0]), (2, None, links[1]), (3, b"y", None), (4, b"z", links[2])]


@pytest.mark.parametrize(("one", "other"), [
    ((1, "ab", 1, "t", b"c"), (1, "a", 1, "bt", b"c")),
    ((1, "a", 1, "t", b"c"), (1, "a", 1, "tc", b"")),
    ((12, "a", 1, "t", b""), (1, "2a", 1, "t", b"")),
    ((1, "a", 1, "t", b"c"), (2, "a", 1, "t", b"c")),
])
def test_content_bytes_never_confuse_two_field_tuples(one: tuple[Any, ...],
                                                      other: tuple[Any, ...]) -> None:
    assert content_bytes(*one) != content_bytes(*other)


def test_a_digest_covers_the_previous_one() -> None:
    assert link_digest(GENESIS, b"x") != link_digest("1" * 64, b"x")
    assert len(link_digest(GENESIS, b"x")) == 64


@pytest.mark.parametrize(("data", "complaint"), [
    ([], "JSON object"),
    ({"position": 3}, "'digest'"),
    ({"position": 0, "digest": "a" * 64}, "'position'"),
    ({"position": True, "digest": "a" * 64}, "'position'"),
    ({"position": "3", "digest": "a" * 64}, "'position'"),
    ({"position": 3, "digest": "A" * 64}, "'digest'"),
    ({"position": 3, "digest": "a" * 63}, "'digest'"),
    ({"position": 3, "digest": "a" * 64, "format": "other/2"}, "unknown checkpoint format"),
])
def test_a_malformed_checkpoint_is_refused_naming_source_and_field(data: Any, complaint: str) -> None:
    with pytest.raises(CheckpointFormatError) as error:
        checkpoint_from_json(data, "kept.json")
    assert "kept.json" in str(error.value) and complaint in str(error.value)


def test_a_checkpoint_survives_its_json_form() -> None:
    checkpoint = Checkpoint(5, "c" * 64, "2024-02-11T18:00:00Z", "sqlite:////var/paddock.db")
    assert checkpoint_from_json(checkpoint.to_json(), "x") == Checkpoint(
        5, "c" * 64, "2024-02-11T18:00:00Z", "sqlite:////var/paddock.db", "x")


def test_a_log_without_a_chain_table_is_one_finding_and_still_meets_its_checkpoints() -> None:
    events = [e for e in ORIGINAL.entries() if e.content is not None]
    bare = [Entry(e.position, e.content, None) for e in events]
    verdict = walk(bare, [kept(4), Checkpoint(HEAD + 2, "ab" * 32)], chained=False)
    assert [(f.position, f.kind) for f in verdict.findings] == [
        (1, "missing_chain"), (HEAD + 2, "truncated")]
    assert f"{HEAD} events" in verdict.findings[0].explanation
    assert (verdict.events, verdict.head_digest) == (HEAD, ORIGINAL.digest(HEAD))
    assert walk([], chained=False).ok  # nothing recorded, nothing to vouch for
