"""Live views: the catalog's published views (projections/catalog.py; standings, invitations,
entry lists) at the head of a log prefix (pure, no I/O).

The live view of log position P has `as_of = known_at = T(P)`, the largest `recorded_at` among
events 1..P (docs/SERVICE.md). Names: `<view>/<key>` (`standings/<championship>`,
`invitations/<event>`, `entry-list/<event>`); the body is canonical JSON, computed by the
catalog line's `live` function (projections/live_bodies.py) or its view function at T. A view
that cannot be computed yet (e.g. the invitations of an event whose definition is not in effect
at T, or an entry list before a class has places) is simply absent. Such conditions, once met,
stay met as T grows, so a view never disappears once written (view stores only upsert).

A persisted view need not be rewritten at every position: between two events that may change
it, only its header (`as_of`, `known_at`, `log_position`) would move. The projector's
`projections.partition_folds.LiveFold` therefore computes each view at the last position of a
batch that may have changed it, from the folds of the view's own partitions, so a stored body
is the live view at its own `log_position` (as computed here from a fold of the whole prefix),
and the same log prefix gives the same bodies whatever the batch sizes, restarts or rebuilds.

An event may change a view's content when it is about the view's championship or event (or a
championship or award the event's routes name), or when it moves T past the `effective_at` of
a fact already folded (a fact recorded before it takes effect becomes visible only then).
`ViewRouter` answers that for a fold of the whole log (over-approximating: a championship's
events name every invitations view); the partitioned `LiveFold` names only the dependants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.aggregates.award import Award
from domain.aggregates.championship import Championship
from domain.aggregates.fact import Fact
from domain.aggregates.ingest_receipt import IngestReceipt
from domain.aggregates.invitation import Invitation
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.signing_key import SigningKey
from domain.aggregates.stewards_decision import StewardsDecision
from domain.aggregates.target_event import TargetEvent
from domain.errors import PaddockError
from domain.partitions import championship_partition, event_partition
from projections.canonical import canonical_json
from projections.catalog import CATALOG, Catalog, View
from projections.ledger import LedgerState
from projections.standings_view import SeasonAt

EVERY_INVITATION = "invitations/*"
"""In an `affected_views` answer: the invitations view of every target event."""
EVERY_ENTRY_LIST = "entry-list/*"
"""In an `affected_views` answer: the entry-list view of every target event."""

Owners = Mapping[UUID, str]
"""Aggregate id → the partition its events are about (`championship:<c>` or `event:<e>`)."""


# -- computing views ----------------------------------------------------------------------------


@dataclass
class Computed:
    """What the views computed at one time share, for those computed after them (each
    published view after those it depends on: `Catalog.computing_order`)."""

    seasons: dict[str, SeasonAt | str] = field(default_factory=dict)
    """Championship → its season (or why there is none), computed once for all its readers."""
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    """View name → its body, as computed (without the live header)."""


def live_time(state: LedgerState) -> datetime | None:
    """T: the largest `recorded_at` folded (None for an empty log)."""
    return state.head.latest


def view_names(state: LedgerState, catalog: Catalog = CATALOG) -> list[str]:
    """Every view the state may have: one per published view of the catalog and key of its
    kind the state holds (a championship's standings, a target event's invitations and entry
    list)."""
    return sorted(view.name_of(key) for view in catalog.published
                  for key in getattr(state, view.key.keys))


def live_views(state: LedgerState, names: Iterable[str] | None = None,
               at: datetime | None = None, catalog: Catalog = CATALOG) -> dict[str, str]:
    """name → canonical JSON of the live views (all, or those named) at T (or `at`)."""
    when = at or live_time(state)
    if when is None:
        return {}
    wanted = view_names(state, catalog) if names is None else _expand(names, state, catalog)
    order = {view.name: i for i, view in enumerate(catalog.computing_order)}
    planned = []
    for name in wanted:
        found = catalog.live(name)  # None: not a published view's name
        if found is not None:
            planned.append((order[found[0].name], name, *found))
    views, computed = {}, Computed()
    position = state.position_known_at(when)
    for _, name, view, key in sorted(planned):
        body = _view(view, state, key, when, computed)
        if body is not None:
            computed.bodies[name] = body
            views[name] = _at(body, position)
    return dict(sorted(views.items()))


def _expand(names: Iterable[str], state: LedgerState, catalog: Catalog) -> set[str]:
    """`<view>/*` stands for that view of every key of its kind the state holds."""
    every = {view.name_of("*"): view for view in catalog.published}
    wanted = set()
    for name in names:
        view = every.get(name)
        if view is None:
            wanted.add(name)
        else:
            wanted.update(view.name_of(key) for key in getattr(state, view.key.keys))
    return wanted


def _view(view: View, state: LedgerState, key: str, at: datetime,
          computed: Computed) -> dict[str, Any] | None:
    """A live view's `log_position` is the log position P it is the live view of (a view can
    change at P without a fact of its own: T passed a fact's effective time), unlike a query's
    answer, which names the last of its own facts known at `known_at`."""
    try:
        return view.live_function()(state, key, at, computed)
    except PaddockError:
        return None


def _at(view: dict[str, Any], position: int) -> str:
    return canonical_json({**view, "log_position": position})


# -- which views a batch of events may change ---------------------------------------------------

_CHAMPIONSHIP_EVENTS = (Championship.Registered, Championship.Revised)
_ROUND_OPENERS = (RaceClassification.Opened, StewardsDecision.PenaltyImposed)
_TARGET_EVENTS = (TargetEvent.Registered, TargetEvent.Revised)


def owner_of(event: Any) -> str | None:
    """The partition an event names itself (creation and definition events carry their keys)."""
    if isinstance(event, _CHAMPIONSHIP_EVENTS):
        return championship_partition(event.definition["id"])
    if isinstance(event, _ROUND_OPENERS):
        return championship_partition(event.championship)
    if isinstance(event, _TARGET_EVENTS):
        return event_partition(event.definition["id"])
    if isinstance(event, Invitation.Opened):
        return event_partition(event.event_id)
    return None


def learn_owners(events: Iterable[Any], owners: dict[UUID, str]) -> None:
    for event in events:
        owner = owner_of(event)
        if owner is not None:
            owners[event.originator_id] = owner


@dataclass(frozen=True)
class _Routing:
    """What routing reads of a catalog, found once: each published view with the partition
    prefix of its key, and the routed views' prefixes and wildcards."""

    homes: tuple[tuple[str, View], ...]
    routed_homes: tuple[str, ...]
    every_routed: frozenset[str]


_ROUTINGS: dict[int, tuple[Catalog, _Routing]] = {}


def _routing(catalog: Catalog) -> _Routing:
    """Found once per catalog, by identity (hashing a catalog hashes every view)."""
    known = _ROUTINGS.get(id(catalog))
    if known is not None and known[0] is catalog:
        return known[1]
    homes = tuple((view.key.partition_of(""), view) for view in catalog.published)
    routing = _Routing(homes, tuple(h for h, v in homes if v.key.routed),
                       frozenset(v.name_of("*") for _, v in homes if v.key.routed))
    _ROUTINGS[id(catalog)] = (catalog, routing)
    return routing


def named_views(partition: str, catalog: Catalog = CATALOG) -> set[str]:
    """The published views a partition's key names: `standings/c` for `championship:c`."""
    return {view.name_of(partition.removeprefix(home))
            for home, view in _routing(catalog).homes if partition.startswith(home)}


def every_routed(catalog: Catalog = CATALOG) -> set[str]:
    """`<view>/*` for every view of a routed key (invitations and entry list of every event)."""
    return set(_routing(catalog).every_routed)


def affected_views(events: Sequence[Any], owners: Owners | None = None,
                   catalog: Catalog = CATALOG) -> set[str] | None:
    """The views a batch of events may change; None means every view.

    An event changes the views its aggregate's partition names (the catalog's views of that
    key: a championship's standings, a target event's invitations and entry list). A
    championship's events (definition, entries, ties, classifications, poles, decisions) may
    also change every routed view (`<view>/*`: every target event's invitations and entry
    list, which read the championships their routes name); so may awards. Receipts and
    signing keys change none. `owners` (aggregate id → partition) names the aggregates
    created before the batch; an event of an aggregate not seen being created makes the
    answer None.
    """
    known = dict(owners or {})
    learn_owners(events, known)
    return _affected(events, known, catalog)


def _affected(events: Iterable[Any], owners: Owners, catalog: Catalog) -> set[str] | None:
    """`affected_views` once `owners` knows every aggregate the events create."""
    affected: set[str] = set()
    for event in events:
        names = _affected_by(event, owners, catalog)
        if names is None:
            return None
        affected |= names
    return affected


def _affected_by(event: Any, owners: Owners, catalog: Catalog) -> set[str] | None:
    if isinstance(event, (IngestReceipt.Received, SigningKey.Registered, SigningKey.Revoked)):
        return set()  # receipts and signing keys change no view
    if isinstance(event, Award.Granted):
        return every_routed(catalog)
    owner = owners.get(event.originator_id)
    if owner is None:
        return None
    names = named_views(owner, catalog)
    routing = _routing(catalog)
    return names if owner.startswith(routing.routed_homes) else names | routing.every_routed


class ViewRouter:
    """Follows the log event by event and answers which views each event may change, as
    concrete names (wildcards and "every view" expanded to the views seen so far).

    Its cost per event is independent of the log's size: the owners and the view names seen so
    far grow as aggregates are created, never recomputed from all of them (issue 10)."""

    def __init__(self, catalog: Catalog = CATALOG) -> None:
        self.catalog = catalog
        self.owners: dict[UUID, str] = {}
        self.time: datetime | None = None
        self._deferred: list[tuple[datetime, Any]] = []
        self._known: set[str] = set()
        self._of_kind: dict[str, set[str]] = {w: set() for w in every_routed(catalog)}

    def route(self, event: Any) -> set[str]:
        self._learn(event)
        touched = [event]
        if self._advance_time(event):
            # facts not in effect yet: their views depend on T until they take effect
            touched += [e for _, e in self._deferred]
            self._deferred = [(at, e) for at, e in self._deferred if self._after_time(at)]
        if isinstance(event, Fact) and self._after_time(event.effective_at):
            self._deferred.append((event.effective_at, event))
        return self._expand(_affected(touched, self.owners, self.catalog))

    def _learn(self, event: Any) -> None:
        owner = owner_of(event)
        if owner is None:
            return
        self.owners[event.originator_id] = owner
        for name in named_views(owner, self.catalog) - self._known:
            self._known.add(name)
            for wildcard, members in self._of_kind.items():
                if name.startswith(wildcard.removesuffix("*")):
                    members.add(name)

    def _advance_time(self, event: Any) -> bool:
        if isinstance(event, Fact) and (self.time is None or event.recorded_at > self.time):
            self.time = event.recorded_at
            return True
        return False

    def _after_time(self, at: datetime) -> bool:
        return self.time is None or at > self.time

    def _expand(self, names: set[str] | None) -> set[str]:
        if names is None:
            return set(self._known)
        for wildcard, members in self._of_kind.items():
            if wildcard in names:
                names = (names - {wildcard}) | members
        return names
