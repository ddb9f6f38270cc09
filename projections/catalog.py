"""The catalog of views: every view Paddock answers or publishes, declared once.

A view is declared by its name and key (`standings/<championship>`), the parameters a query of it
takes, the facts that may change it (the aggregates whose events it reads, and the partition its
key names), how it is computed (the pure view function in `projections/*_view.py`) and, when it
is published, how it is split into messages (standings one message per class, others whole).

Everything else is derived from this list, not written again: the query module every reader
answers through (services/queries.py), the query service's endpoints, the NATS state subjects,
KV keys and query subjects (infra/nats_subjects.py), the publisher's messages, the nats-server
permissions and the AsyncAPI document. A new view is its module plus one line here.

The catalog is data (no I/O) and light: functions are named `module:function` and imported only
when a view is computed, so `paddock --help` (which reads subject names) loads no view code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

ID = "id"
"""A non-empty string: a championship, an event, a car, a class."""
TIME = "time"
"""ISO 8601 with an offset, or a bare date (00:00 UTC)."""
INTEGER = "integer"
"""An integer: a published version, a round."""
HOURS = "hours"
"""A number of hours, 0 up to domain.bounds.MAX_HOURS; the reader gets a timedelta."""
KINDS = (ID, TIME, INTEGER, HOURS)

CHAMPIONSHIP_FACTS = ("Championship", "RaceClassification", "StewardsDecision")
"""The aggregates of a championship's partition (domain/partitions.py)."""
EVENT_FACTS = ("TargetEvent", "Invitation", "Award", *CHAMPIONSHIP_FACTS)
"""What a target event's views read: its own facts, the awards and the championships its
routes name (and those of a joint classification)."""


@dataclass(frozen=True)
class Key:
    """What names one view of a kind: a championship or a target event, and so its partition,
    and the partitions a live view of it is computed from (its scope)."""

    name: str
    partition: str
    """The partition kind (domain/partitions.py): `championship` or `event`."""
    keys: str
    """The field of a ledger state (projections/ledger.py) whose keys are the keys of this kind
    that a state holds: one live view of each published kind per key."""
    routed: bool = False
    """Whether a view of it also reads the partitions that the key's routes and automatic
    entries name (projections/view_scopes.py); else it reads its own partition only."""

    @property
    def state_method(self) -> str:
        """The Ledger method that folds this key's partition (and what it depends on)."""
        return f"{self.partition}_state"

    def partition_of(self, key: str) -> str:
        """The partition a key names (`championship:aslms`), as domain/partitions.py spells it."""
        return f"{self.partition}:{key}"


CHAMPIONSHIP = Key("championship", "championship", "championships")
EVENT = Key("event", "event", "target_events", routed=True)


@dataclass(frozen=True)
class Param:
    """A parameter of a query besides the view's key."""

    name: str
    """The request's field (and, dashed, the command-line flag)."""
    kind: str
    help: str
    required: bool = False
    arg: str = ""
    """The reader's argument when it differs from `name` (`class` → `class_id`)."""
    excludes: tuple[str, ...] = ()
    """Parameters that may not be given with this one, and why (`because`)."""
    because: str = ""
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind '{self.kind}' (one of {KINDS})")

    @property
    def argument(self) -> str:
        return self.arg or self.name


AS_OF = Param("as_of", TIME, "effective time: the world as it stood then (default: now)")
KNOWN_AT = Param("known_at", TIME, "record time: only what was recorded by then (default: now)")
TIMES = (AS_OF, KNOWN_AT)

PER_CLASS = "per class"
"""A view published as one message per class, each the view narrowed to that class."""
WHOLE_VIEW = "whole"
"""A view published as it is stored."""


@dataclass(frozen=True)
class Publication:
    """How a live view goes out: `<prefix>.<subject>.<key>[.<class>]`, KV key likewise."""

    split: str
    summary: str
    subject: str = ""
    """The subject's first token after the prefix (default: the view's name)."""

    def __post_init__(self) -> None:
        if self.split not in (PER_CLASS, WHOLE_VIEW):
            raise ValueError(f"a view is published '{PER_CLASS}' or '{WHOLE_VIEW}', not '{self.split}'")


@dataclass(frozen=True)
class View:
    """One kind of view. Its query is answered by the Ledger's method `reader` (keys first, then
    the required parameters, then the optional ones by keyword), or, without one, by `compute`
    over the key's partition state: `compute(state, key, as_of, known_at, *required, **optional)`."""

    name: str
    key: Key
    compute: str
    """The pure view function, `module:function`."""
    summary: str
    params: tuple[Param, ...] = TIMES
    query: str = ""
    """The query's name on every transport (`audit.explain`); empty: not queryable."""
    reader: str = ""
    """The Ledger query method that answers it; empty: computed from the partition state."""
    affected_by: tuple[str, ...] = CHAMPIONSHIP_FACTS
    """The aggregates (domain/aggregates) whose facts may change it."""
    depends_on: tuple[str, ...] = ()
    """Views it is computed from: it changes whenever they do."""
    publication: Publication | None = None
    live: str = ""
    """How its live view is computed, `module:function`: `live(state, key, at, computed)` →
    the body, or None while there is none to publish (`computed`: projections.live_views.
    Computed, what views computed before it at the same time share). Empty: `compute(state,
    key, at, at)`. Either way a PaddockError means no view yet."""

    def __post_init__(self) -> None:
        for what, name in (("compute", self.compute), ("live", self.live or ":")):
            if ":" not in name:
                raise ValueError(f"view {self.name}: {what} names `module:function`, not '{name}'")
        names = [self.key.name, *(p.name for p in self.params)]
        if len(set(names)) != len(names):
            raise ValueError(f"view {self.name}: a parameter is declared twice ({names})")
        for p in self.params:
            unknown = set(p.excludes) - set(names)
            if unknown:
                raise ValueError(f"view {self.name}: {p.name} excludes unknown {sorted(unknown)}")
        required = [p.name for p in self.params if p.required]
        if self.publication is not None and required and not self.live:
            raise ValueError(f"view {self.name}: a published view is computed from its key alone; "
                             f"declare how (`live`) or require no parameter ({required})")

    def name_of(self, key: str) -> str:
        """The live view's name: `standings/aslms-2023-24`."""
        return f"{self.name}/{key}"

    @property
    def pattern(self) -> str:
        return f"{self.name}/<{self.key.name}>"

    @property
    def subject(self) -> str:
        """The first subject token of its publications (`entry-list`)."""
        return (self.publication.subject if self.publication else "") or self.name

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a request may carry: the key, then the parameters."""
        return (self.key.name, *(p.name for p in self.params))

    def function(self) -> Callable[..., dict[str, Any]]:
        """The view function itself (imported now, not when the catalog is)."""
        return _imported(self.compute)

    def live_function(self) -> Callable[..., dict[str, Any] | None]:
        """The function computing its live body (`live`, else `compute` at one time)."""
        if self.live:
            return _imported(self.live)
        compute = self.function()
        return lambda state, key, at, _computed: compute(state, key, at, at)


_IMPORTED: dict[str, Callable[..., Any]] = {}


def _imported(name: str) -> Callable[..., Any]:
    """`module:function`, imported once (a live view is computed per event)."""
    found = _IMPORTED.get(name)
    if found is None:
        module, _, attribute = name.partition(":")
        found = _IMPORTED[name] = getattr(import_module(module), attribute)
    return found


@dataclass(frozen=True)
class Catalog:
    """The views, in the order they are listed everywhere they are derived."""

    views: tuple[View, ...]
    _by_name: dict[str, View] = field(init=False, repr=False, compare=False)
    _order: tuple[View, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for what, names in (("name", [v.name for v in self.views]),
                            ("query", [v.query for v in self.views if v.query]),
                            ("subject", [v.subject for v in self.published])):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"two views share the {what} {', '.join(repeated)}")
        object.__setattr__(self, "_by_name", {v.name: v for v in self.views})
        object.__setattr__(self, "_order", self._ordered())  # refuses views depending on each other

    def __iter__(self) -> Iterator[View]:
        return iter(self.views)

    def view(self, name: str) -> View:
        try:
            return self._by_name[name]
        except KeyError:
            raise LookupError(f"unknown view '{name}' (one of {', '.join(self._by_name)})") from None

    @property
    def published(self) -> tuple[View, ...]:
        return tuple(v for v in self.views if v.publication is not None)

    @property
    def computing_order(self) -> tuple[View, ...]:
        """The published views, each after the published views it depends on (so a live view
        can reuse what they computed), else in catalog order."""
        return self._order

    def _ordered(self) -> tuple[View, ...]:
        published = {v.name: v for v in self.published}
        ordered: dict[str, View] = {}

        def visit(view: View, path: tuple[str, ...]) -> None:
            if view.name in path:
                raise ValueError(f"views depend on each other: {' → '.join((*path, view.name))}")
            for name in view.depends_on:
                if name in published and name not in ordered:
                    visit(published[name], (*path, view.name))
            ordered.setdefault(view.name, view)

        for view in published.values():
            visit(view, ())
        return tuple(ordered.values())

    @property
    def queried(self) -> tuple[View, ...]:
        return tuple(v for v in self.views if v.query)

    @property
    def queries(self) -> tuple[str, ...]:
        return tuple(v.query for v in self.queried)

    def by_query(self, query: str) -> View:
        for view in self.queried:
            if view.query == query:
                return view
        raise LookupError(f"unknown query '{query}' (one of {', '.join(self.queries)})")

    def live(self, name: str) -> tuple[View, str] | None:
        """The published view kind and key a live view's name stands for (None: not published)."""
        kind, _, key = name.partition("/")
        view = self._by_name.get(kind)
        if view is None or view.publication is None or not key:
            return None
        return view, key

    def with_views(self, *views: View) -> Catalog:
        """This catalog and more views (a deployment's own, or a test's)."""
        return Catalog((*self.views, *views))


_CLASS = Param("class", ID, "one class only (default: every class)", arg="class_id")
_CAR = Param("car", ID, "one car only (default: every car)")

CATALOG = Catalog((
    View("standings", CHAMPIONSHIP, "projections.standings_view:standings_view",
         "a championship's standings, per class, with the rounds behind them",
         params=(*TIMES, _CLASS), query="standings", reader="standings",
         publication=Publication(PER_CLASS, "A class's standings, on every change, in log order")),
    View("invitations", EVENT, "projections.invitations_view:invitations_view",
         "a target event's invitation routes, their status and holders",
         query="invitations", reader="invitations", affected_by=EVENT_FACTS,
         depends_on=("standings",), live="projections.live_bodies:live_invitations",
         publication=Publication(WHOLE_VIEW, "A target event's invitation state, on every change")),
    View("history", CHAMPIONSHIP, "projections.history_view:history_view",
         "the facts of a championship in log order, with both times",
         params=(*TIMES, _CAR), query="history", reader="history"),
    View("explain", CHAMPIONSHIP, "projections.explain_view:explain_view",
         "every point of a car, round by round, with the facts behind each line",
         params=(Param("car", ID, "the car", required=True), *TIMES),
         query="audit.explain", reader="explain", depends_on=("standings",)),
    View("timeline", CHAMPIONSHIP, "projections.timeline_view:timeline_view",
         "all facts in effective-time order with both times; retroactive ones flagged",
         params=(*TIMES, Param("retroactive_after_hours", HOURS,
                               "recorded this long after taking effect counts as retroactive",
                               arg="retroactive_after", default=24.0)),
         query="audit.timeline", reader="timeline", depends_on=("history",)),
    View("diff", CHAMPIONSHIP, "projections.diff_view:diff_view",
         "rows whose position or points changed between two dates, with their causes",
         params=(Param("from", TIME, "the earlier effective date", required=True, arg="start"),
                 Param("to", TIME, "the later effective date", required=True, arg="end"),
                 KNOWN_AT),
         query="audit.diff", reader="diff", depends_on=("standings", "explain")),
    View("entry-list", EVENT, "projections.entry_list_view:entry_list_view",
         "a target event's entry list: entries, pending, reserves, free places, each with why",
         params=(*TIMES, Param("published", INTEGER, "the list as version N was published",
                               excludes=("as_of", "known_at"), because="fixes both times")),
         query="entry_list", reader="entry_list", affected_by=EVENT_FACTS,
         depends_on=("invitations", "standings"), live="projections.live_bodies:live_entry_list",
         publication=Publication(WHOLE_VIEW, (
             "A target event's entry list (entries, pending, reserves, free places, each line "
             "with why), on every change"))),
    View("entry-list-diff", EVENT, "projections.entry_list_view:entry_list_diff",
         "what changed between two published versions of an entry list, and why",
         params=(Param("from", INTEGER, "the earlier published version", required=True),
                 Param("to", INTEGER, "the later published version", required=True)),
         query="entry_list_diff", reader="entry_list_diff", affected_by=EVENT_FACTS,
         depends_on=("entry-list",)),
))
"""Every view of Paddock."""

STANDINGS = CATALOG.view("standings").name_of("")
INVITATIONS = CATALOG.view("invitations").name_of("")
ENTRY_LISTS = CATALOG.view("entry-list").name_of("")


def standings_name(championship: str) -> str:
    """`standings/<championship>`: a championship's live standings."""
    return STANDINGS + championship


def invitations_name(event_id: str) -> str:
    """`invitations/<event>`: a target event's live invitations."""
    return INVITATIONS + event_id


def entry_list_name(event_id: str) -> str:
    """`entry-list/<event>`: a target event's live entry list."""
    return ENTRY_LISTS + event_id
