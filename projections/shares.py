"""A projection worker's share of the views: the partition groups it owns among a fixed count.

A view belongs to the group of its home partition (`standings/<c>` to `championship:<c>`, a
target event's views to `event:<e>`), so every view has exactly one owner, and workers whose
shares are disjoint and cover every group together write every view once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from domain.partitions import partition_group
from projections.catalog import CATALOG, Catalog


def view_home(name: str, catalog: Catalog = CATALOG) -> str:
    """The home partition of a live view: the partition its key names (the catalog's)."""
    found = catalog.live(name)
    if found is None:
        raise LookupError(f"'{name}' is not a view the catalog publishes")
    view, key = found
    return view.key.partition_of(key)


@dataclass(frozen=True)
class Share:
    """The groups owned among `groups` (all of them: a single worker)."""

    groups: int
    owned: frozenset[int]
    catalog: Catalog = field(default=CATALOG, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise ValueError(f"at least one partition group (got {self.groups})")
        outside = sorted(g for g in self.owned if not 0 <= g < self.groups)
        if outside:
            raise ValueError(f"groups {outside} are not among 0..{self.groups - 1}")

    @classmethod
    def everything(cls, groups: int = 1) -> Share:
        return cls(groups, frozenset(range(groups)))

    @cached_property
    def whole(self) -> bool:
        return len(self.owned) == self.groups

    def group_of_view(self, name: str) -> int:
        return partition_group(view_home(name, self.catalog), self.groups)

    def owns_view(self, name: str) -> bool:
        return self.whole or self.group_of_view(name) in self.owned
