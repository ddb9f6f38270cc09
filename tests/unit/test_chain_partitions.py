"""The walk over a log chained per partition (services/audit_chain.py): two partitions whose
events interleave, tampered with in the ways that differ from one global chain."""

from __future__ import annotations

from services.audit_chain import (
    GENESIS,
    Checkpoint,
    Entry,
    Link,
    chain_partitions,
    content_bytes,
    link_digest,
    merge,
    walk,
)

ANCHOR = Link(0, GENESIS, GENESIS)
HOMES = {1: "a", 2: "b", 3: "a", 4: "a", 5: "b", 6: "a"}  # b's last event is 5


def content(position: int) -> bytes:
    return content_bytes(position, f"aggregate-{HOMES[position]}", position, "paddock.Fact",
                         f"state of {position}".encode())


def log() -> tuple[dict[int, bytes], dict[int, Link]]:
    events = {p: content(p) for p in HOMES}
    links = chain_partitions({}, [(p, HOMES[p], events[p]) for p in HOMES])
    return events, {0: ANCHOR, **{link.position: link for link in links}}


def entries(events: dict[int, bytes], links: dict[int, Link]) -> list[Entry]:
    return list(merge(sorted(events.items()), [links[p] for p in sorted(links)]))


def history(events: dict[int, bytes], upto: int) -> str:
    digest = GENESIS
    for position in sorted(p for p in events if p <= upto):
        digest = link_digest(digest, events[position])
    return digest


def kinds(events: dict[int, bytes], links: dict[int, Link],
          checkpoints: tuple[Checkpoint, ...] = ()) -> list[tuple[int, str]]:
    return [(f.position, f.kind) for f in walk(entries(events, links), checkpoints).findings]


def test_each_partition_is_its_own_chain() -> None:
    events, links = log()
    assert [(links[p].partition, links[p].previous == GENESIS) for p in (1, 2, 3)] == [
        ("a", True), ("b", True), ("a", False)]
    assert links[3].previous == links[1].digest and links[5].previous == links[2].digest
    verdict = walk(entries(events, links))
    assert verdict.ok and verdict.head_digest == history(events, 6)


def test_an_event_and_its_digest_deleted_break_the_next_link_of_its_partition() -> None:
    events, links = log()
    del events[3], links[3]
    assert kinds(events, links) == [(4, "broken_link")]


def test_a_partitions_last_event_deleted_with_its_digest_is_caught_by_a_checkpoint() -> None:
    events, links = log()
    kept = Checkpoint(6, history(events, 6))
    del events[5], links[5]
    assert kinds(events, links) == []
    assert kinds(events, links, (kept,)) == [(6, "checkpoint")]


def test_a_link_moved_to_another_partition_breaks() -> None:
    events, links = log()
    links[4] = Link(4, links[4].previous, links[4].digest, "b")
    assert kinds(events, links) == [(4, "broken_link"), (5, "broken_link"), (6, "broken_link")]


def test_a_walk_from_mid_log_picks_each_partition_up_where_it_was() -> None:
    events, links = log()
    asked: list[tuple[str, int]] = []

    def prior(partition: str, position: int) -> tuple[int, str]:
        asked.append((partition, position))
        last = max(p for p in links if p and p < 4 and links[p].partition == partition)
        return last, links[last].digest

    later = {p: c for p, c in events.items() if p > 3}
    verdict = walk(entries(later, {p: link for p, link in links.items() if p > 3}),
                   after=3, previous=history(events, 3), prior=prior)
    assert verdict.ok and verdict.head_digest == history(events, 6)
    assert asked == [("a", 4), ("b", 5)]  # once per partition
