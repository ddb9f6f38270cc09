"""Tracking per partition group: the rows of `paddock_view_tracking` that say, for each group of
partitions, the log position its views reflect.

A projection worker named `projections` in a deployment of 16 groups tracks group 3 under the key
`projections#3/16`; the views of a group and its row are written in one transaction, so a worker
that owns some groups writes only their rows (and checks that each is still where it left it).
A worker name without `#` is a single row for every view (a store written before groups, or a
plain writer such as a benchmark's follower). The count is in the key, so a worker configured
with another count finds rows it cannot use and is refused (`PartitionGroupsMismatchError`)
rather than tracking the same views twice under two splits.
"""

from __future__ import annotations

from collections.abc import Mapping

SEPARATOR = "#"


class PartitionGroupsMismatchError(Exception):
    """The view store's tracking rows were written with another number of partition groups."""


def group_key(worker: str, group: int, groups: int) -> str:
    return f"{worker}{SEPARATOR}{group}/{groups}"


def parse_key(key: str) -> tuple[str, int, int] | None:
    """(worker, group, groups) of a group row; None for a plain row."""
    worker, sep, rest = key.rpartition(SEPARATOR)
    group, slash, groups = rest.partition("/")
    if not sep or not slash or not group.isdigit() or not groups.isdigit():
        return None
    return worker, int(group), int(groups)


def group_positions(rows: Mapping[str, int], worker: str, groups: int) -> dict[int, int] | None:
    """Each group's tracked position (0 for a group not written yet); None when the worker has
    no group rows. Rows of another count are refused with what to do about them."""
    found: dict[int, int] = {}
    for key, position in rows.items():
        parsed = parse_key(key)
        if parsed is None or parsed[0] != worker:
            continue
        if parsed[2] != groups:
            raise PartitionGroupsMismatchError(
                f"the views of worker {worker!r} are tracked in {parsed[2]} partition groups, and "
                f"this process is configured with {groups}: set PADDOCK_PARTITION_GROUPS="
                f"{parsed[2]} in every process of the deployment, or rebuild the views with the "
                f"new count (`PADDOCK_PARTITION_GROUPS={groups} paddock projections rebuild`)")
        found[parsed[1]] = position
    if not found:
        return None
    return {g: found.get(g, 0) for g in range(groups)}


def summary(rows: Mapping[str, int]) -> dict[str, int]:
    """Worker → the position all its views reflect: a plain row's own, or the least of its
    groups' (a group never written counts as 0)."""
    plain = {k: v for k, v in rows.items() if parse_key(k) is None}
    grouped: dict[str, int] = {}
    for key in rows:
        parsed = parse_key(key)
        if parsed is not None and parsed[0] not in grouped:
            positions = group_positions(rows, parsed[0], parsed[2]) or {}
            grouped[parsed[0]] = min(positions.values(), default=0)
    return dict(sorted({**plain, **grouped}.items()))


def settled(rows: Mapping[str, int]) -> int | None:
    """The position up to which every group of every grouped worker has written its views (a
    view stored at or below it will not be written again below it); None when no worker
    tracks groups (a single writer: every batch is whole)."""
    grouped = {parsed[0] for k in rows if (parsed := parse_key(k)) is not None}
    positions = summary(rows)
    return min((positions[w] for w in grouped), default=None)
