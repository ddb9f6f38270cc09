"""The catalog of views (projections/catalog.py): each view declared once, and the declaration
true to the code it names: its function, the Ledger method answering it, its facts."""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import Any

import pytest

from domain import partitions
from projections import live_views
from projections.catalog import (
    CATALOG,
    CHAMPIONSHIP,
    ENTRY_LISTS,
    EVENT,
    ID,
    INVITATIONS,
    PER_CLASS,
    STANDINGS,
    TIMES,
    WHOLE_VIEW,
    Catalog,
    Param,
    Publication,
    View,
    entry_list_name,
    invitations_name,
    standings_name,
)
from services.ledger import Ledger


@pytest.mark.parametrize(("name", "pattern", "query", "split"), [
    ("standings", "standings/<championship>", "standings", PER_CLASS),
    ("invitations", "invitations/<event>", "invitations", WHOLE_VIEW),
    ("entry-list", "entry-list/<event>", "entry_list", WHOLE_VIEW),
    ("entry-list-diff", "entry-list-diff/<event>", "entry_list_diff", None),
    ("history", "history/<championship>", "history", None),
    ("explain", "explain/<championship>", "audit.explain", None),
    ("timeline", "timeline/<championship>", "audit.timeline", None),
    ("diff", "diff/<championship>", "audit.diff", None),
])
def test_every_view_is_declared_once_with_its_name_query_and_split(
        name: str, pattern: str, query: str, split: str | None) -> None:
    view = CATALOG.view(name)
    assert (view.pattern, view.query, CATALOG.by_query(query)) == (pattern, query, view)
    assert (view.publication.split if view.publication else None) == split


@pytest.mark.parametrize("view", CATALOG.views, ids=lambda v: v.name)
def test_its_function_exists_and_its_ledger_method_takes_its_parameters(view: View) -> None:
    function = view.function()
    assert function.__module__.startswith("projections.") and function.__module__.endswith("_view")
    if not view.reader:
        return
    required = [object() for p in view.params if p.required]
    optional = {p.argument: None for p in view.params if not p.required}
    inspect.signature(getattr(Ledger, view.reader)).bind(None, "key", *required, **optional)


@pytest.mark.parametrize("view", CATALOG.views, ids=lambda v: v.name)
def test_its_facts_are_aggregates_and_its_key_a_partition(view: View) -> None:
    for name in view.affected_by:
        module = import_module(f"domain.aggregates.{_snake(name)}")
        assert inspect.isclass(getattr(module, name))
    assert callable(getattr(partitions, f"{view.key.partition}_partition"))
    assert set(view.depends_on) <= {v.name for v in CATALOG}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@pytest.mark.parametrize(("name", "expected"), [
    ("standings/aslms-2023-24", ("standings", "aslms-2023-24")),
    ("entry-list/le mans/2024", ("entry-list", "le mans/2024")),
    ("invitations/", None),
    ("history/aslms", None),  # queried, never published
    ("entries/x", None),
])
def test_a_live_views_name_is_a_published_kind_and_a_key(
        name: str, expected: tuple[str, str] | None) -> None:
    found = CATALOG.live(name)
    assert (None if found is None else (found[0].name, found[1])) == expected


def test_the_live_view_names_are_the_catalogs() -> None:
    assert standings_name("c") == CATALOG.view("standings").name_of("c")
    assert invitations_name("e") == CATALOG.view("invitations").name_of("e")
    assert entry_list_name("e") == CATALOG.view("entry-list").name_of("e")
    assert (STANDINGS, INVITATIONS, ENTRY_LISTS) == ("standings/", "invitations/", "entry-list/")
    assert live_views.named_views("championship:c") == {"standings/c"}
    assert live_views.named_views("event:e") == {"invitations/e", "entry-list/e"}
    assert [v.name for v in CATALOG.computing_order] == ["standings", "invitations", "entry-list"]


def _view(name: str, **kw: Any) -> View:
    return View(name, CHAMPIONSHIP, "projections.history_view:history_view", "x", **kw)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Catalog((_view("a"), _view("a"))), "share the name a"),
    (lambda: Catalog((_view("a", query="q"), _view("b", query="q"))), "share the query q"),
    (lambda: Catalog((_view("a", publication=Publication(WHOLE_VIEW, "s", subject="s")),
                      _view("b", publication=Publication(WHOLE_VIEW, "s", subject="s")))),
     "share the subject s"),
    (lambda: _view("a", params=(*TIMES, Param("as_of", ID, "again"))), "declared twice"),
    (lambda: _view("a", params=(Param("p", ID, "p", excludes=("q",)),)), "excludes unknown"),
    (lambda: Param("p", "colour", "p"), "unknown kind 'colour'"),
    (lambda: View("a", CHAMPIONSHIP, "projections.history_view", "x"), "module:function"),
    (lambda: Publication("by round", "s"), "not 'by round'"),
    (lambda: CATALOG.view("entries"), "unknown view 'entries'"),
    (lambda: CATALOG.by_query("entries"), "unknown query 'entries'"),
])
def test_a_catalog_refuses_what_would_be_ambiguous(build: Any, message: str) -> None:
    with pytest.raises((ValueError, LookupError), match=message):
        build()


def test_the_catalog_is_light_data() -> None:
    """`paddock --help` reads subject names: the catalog imports no view code until asked."""
    source = inspect.getsource(import_module("projections.catalog"))
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all(line.split()[1] in {"__future__", "collections.abc", "dataclasses", "importlib",
                                   "typing"} for line in imports), imports
    assert EVENT.state_method == "event_state" and CHAMPIONSHIP.state_method == "championship_state"


def test_the_facts_a_view_declares_cover_every_fact_the_live_router_sends_it(
        memory_ledger: Ledger) -> None:
    """What changes a published view, by the projection worker's router, is among the
    aggregates its declaration names (over the demo season, every kind of fact)."""
    from services.demo import load_demo
    from services.lemans_scenario import load_lemans_scenario

    load_demo(memory_ledger)
    load_lemans_scenario(memory_ledger)
    router, seen = live_views.ViewRouter(), set()
    for _, event in memory_ledger.read_events(0):
        aggregate = type(event).__qualname__.split(".")[0]
        for name in router.route(event):
            found = CATALOG.live(name)
            assert found is not None, name
            assert aggregate in found[0].affected_by, (aggregate, name)
            seen.add((aggregate, found[0].name))
    assert {kind for _, kind in seen} == {v.name for v in CATALOG.published}
