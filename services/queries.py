"""The one query module: every reader (the CLI, the NATS query service, later HTTP) answers a
view of the catalog (projections/catalog.py) through it.

A request names a view and carries its key and parameters as plain values (strings, numbers);
`parse` checks it against the view's declaration, once, whatever the transport, and `ask`
answers it from the Ledger: by the Ledger's query method for the view, or, for a view that
declares none, by its view function over the key's partition state (the Ledger folds that
partition and what it depends on). A transport only decodes its requests, spells the fields as its users know them
(`--as-of` on the command line, `as_of` in a JSON request) and encodes the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.bounds import MAX_HOURS, check_amount
from domain.errors import InvalidInputError
from domain.timing import parse_when, require_aware
from projections.catalog import CATALOG, HOURS, ID, INTEGER, TIME, Catalog, Param, View

if TYPE_CHECKING:  # the CLI imports this module before it opens (and so imports) the Ledger
    from projections.ledger import LedgerState
    from services.ledger import Ledger

Spelling = Callable[[str], str]
"""How a transport names a field in its messages: the field's name → what its users type."""


def as_named(name: str) -> str:
    """The spelling of JSON requests: the field's own name."""
    return name


class InvalidRequestError(InvalidInputError):
    """A request that does not fit its view's declaration: a missing, unknown or mistyped field."""


@dataclass(frozen=True)
class Query:
    """A checked request: the view, its key, every parameter's value (default when absent)."""

    view: View
    key: str
    values: Mapping[str, Any]

    def given(self, name: str) -> Any:
        return self.values[name]


def parse(view: View, request: object, *, spell: Spelling = as_named) -> Query:
    """The query a request makes of `view`; InvalidRequestError names every misfit field,
    InvalidInputError a value of the right type that is wrong (a date without an offset)."""
    if not isinstance(request, Mapping):
        raise InvalidRequestError("request: Input should be an object")
    problems = [f"unknown field '{f}'" for f in request if f not in view.fields]
    problems += _misfits(view.key.name, ID, True, request, spell)
    for p in view.params:
        problems += _misfits(p.name, p.kind, p.required, request, spell)
    if problems:
        raise InvalidRequestError("; ".join(problems))
    _check_exclusions(view, request, spell)
    values = {p.name: _value(p, request.get(p.name), spell) for p in view.params}
    return Query(view, str(request[view.key.name]), values)


_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    ID: ((str,), "a valid string"),
    TIME: ((str,), "a valid string"),
    INTEGER: ((int,), "a valid integer"),
    HOURS: ((int, float), "a valid number"),
}


def _misfits(name: str, kind: str, required: bool, request: Mapping[str, Any],
             spell: Spelling) -> list[str]:
    value = request.get(name)
    if value is None:
        return [f"{spell(name)}: Field required"] if required else []
    types, wanted = _TYPES[kind]
    if isinstance(value, bool) or not isinstance(value, types):
        return [f"{spell(name)}: Input should be {wanted}"]
    if kind == ID and not value:
        return [f"{spell(name)}: String should have at least 1 character"]
    return []


def _value(p: Param, given: Any, spell: Spelling) -> Any:
    if given is None:
        given = p.default
    if given is None:
        return None
    if p.kind == TIME:
        return parse_when(given, option=spell(p.name))
    if p.kind == HOURS:
        return timedelta(hours=check_amount(spell(p.name), float(given), MAX_HOURS))
    return given


def _check_exclusions(view: View, request: Mapping[str, Any], spell: Spelling) -> None:
    for p in view.params:
        clash = [x for x in p.excludes if request.get(x) is not None]
        if request.get(p.name) is not None and clash:
            value = " N" if p.kind == INTEGER else ""
            raise InvalidInputError(f"{spell(p.name)}{value} {p.because}: drop "
                                    f"{' and '.join(spell(x) for x in p.excludes)}")


def ask(reader: Ledger, query: Query) -> dict[str, Any]:
    """The answer to a query, from the Ledger `reader`."""
    view = query.view
    required = [query.given(p.name) for p in view.params if p.required]
    optional = {p.argument: query.given(p.name) for p in view.params if not p.required}
    if view.reader:
        answered: dict[str, Any] = getattr(reader, view.reader)(query.key, *required, **optional)
        return answered
    as_of, known_at = _times(reader, optional.pop("as_of", None), optional.pop("known_at", None))
    state = partition_state(reader, view, query.key)
    return view.function()(state, query.key, as_of, known_at, *required, **optional)


def answer(reader: Ledger, name: str, request: object, *, spell: Spelling = as_named,
           catalog: Catalog = CATALOG) -> dict[str, Any]:
    """`ask(reader, parse(view, request))` for the view called `name`."""
    return ask(reader, parse(catalog.view(name), request, spell=spell))


def partition_state(reader: Ledger, view: View, key: str) -> LedgerState:
    """The fold a view function reads: the Ledger's fold of the key's partition and of what it
    depends on (`championship_state`, `event_state`), never the whole log."""
    state: LedgerState = getattr(reader, view.key.state_method)(key)
    return state


def _times(reader: Ledger, as_of: datetime | None, known_at: datetime | None) -> tuple[datetime, datetime]:
    """Both times default to now, as the Ledger's own queries do."""
    now = reader.clock()
    return (require_aware(as_of, field="as_of") if as_of else now,
            require_aware(known_at, field="known_at") if known_at else now)
