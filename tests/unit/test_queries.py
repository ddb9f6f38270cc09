"""The query module (services/queries.py): one check of every request, whatever the transport
(only the spelling of fields differs), and one way to answer it from the Ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import InvalidInputError
from infra.cli.asking import spelling
from projections.catalog import CATALOG, CHAMPIONSHIP, INTEGER, TIMES, Param, View
from services import queries

T = datetime(2024, 2, 5, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("view", "request_", "values"), [
    ("standings", {"championship": "c"}, {"as_of": None, "known_at": None, "class": None}),
    ("standings", {"championship": "c", "class": "GT", "as_of": "2024-02-05"},
     {"as_of": T, "known_at": None, "class": "GT"}),
    ("timeline", {"championship": "c"}, {"as_of": None, "known_at": None,
                                         "retroactive_after_hours": timedelta(hours=24)}),
    ("timeline", {"championship": "c", "retroactive_after_hours": 1.5},
     {"as_of": None, "known_at": None, "retroactive_after_hours": timedelta(hours=1.5)}),
    ("diff", {"championship": "c", "from": "2024-02-05", "to": "2024-02-05T00:00:00Z"},
     {"from": T, "to": T, "known_at": None}),
    ("entry-list", {"event": "e", "published": 2}, {"as_of": None, "known_at": None, "published": 2}),
    ("entry-list-diff", {"event": "e", "from": 1, "to": 2}, {"from": 1, "to": 2}),
    ("history", {"championship": "c", "car": "7", "known_at": None},
     {"as_of": None, "known_at": None, "car": None} | {"car": "7"}),
])
def test_a_request_becomes_a_query_of_parsed_values(view: str, request_: dict[str, Any],
                                                    values: dict[str, Any]) -> None:
    query = queries.parse(CATALOG.view(view), request_)
    assert (query.key, dict(query.values)) == (request_.get("championship", request_.get("event")),
                                               values)


@pytest.mark.parametrize(("view", "request_", "wire", "cli"), [
    ("standings", ["c"], "request: Input should be an object", "request: Input should be an object"),
    ("standings", {"championship": "c", "clas": "GT"}, "unknown field 'clas'", "unknown field 'clas'"),
    ("standings", {"class": "GT"}, "championship: Field required", "championship: Field required"),
    ("standings", {"championship": ""}, "championship: String should have at least 1 character",
     "championship: String should have at least 1 character"),
    ("history", {"championship": "c", "car": 19}, "car: Input should be a valid string",
     "--car: Input should be a valid string"),
    ("entry-list", {"event": "e", "published": True}, "published: Input should be a valid integer",
     "--published: Input should be a valid integer"),
    ("entry-list-diff", {"event": "e", "from": 1}, "to: Field required", "--to: Field required"),
    ("timeline", {"championship": "c", "retroactive_after_hours": "1"},
     "retroactive_after_hours: Input should be a valid number",
     "--retroactive-after: Input should be a valid number"),
])
def test_a_misfit_request_is_refused_naming_every_field_as_its_transport_spells_it(
        view: str, request_: Any, wire: str, cli: str) -> None:
    declared = CATALOG.view(view)
    with pytest.raises(queries.InvalidRequestError) as as_json:
        queries.parse(declared, request_)
    with pytest.raises(queries.InvalidRequestError) as as_flags:
        queries.parse(declared, request_, spell=spelling(declared))
    assert (str(as_json.value), str(as_flags.value)) == (wire, cli)


@pytest.mark.parametrize(("view", "request_", "wire", "cli"), [
    ("standings", {"championship": "c", "as_of": "yesterday"}, "as_of: 'yesterday' is not a date",
     "--as-of: 'yesterday' is not a date"),
    ("diff", {"championship": "c", "from": "2024-02-05T10:00:00", "to": "2024-03-01"},
     "from: '2024-02-05T10:00:00' has no timezone", "--from: '2024-02-05T10:00:00' has no timezone"),
    ("timeline", {"championship": "c", "retroactive_after_hours": float("nan")},
     "retroactive_after_hours: nan is out of range", "--retroactive-after: nan is out of range"),
    ("entry-list", {"event": "e", "published": 1, "as_of": "garbage"},
     "published N fixes both times: drop as_of and known_at",
     "--published N fixes both times: drop --as-of and --known-at"),
])
def test_a_wrong_value_is_refused_as_on_the_command_line(view: str, request_: dict[str, Any],
                                                         wire: str, cli: str) -> None:
    declared = CATALOG.view(view)
    with pytest.raises(InvalidInputError) as as_json:
        queries.parse(declared, request_)
    with pytest.raises(InvalidInputError) as as_flags:
        queries.parse(declared, request_, spell=spelling(declared))
    assert not isinstance(as_json.value, queries.InvalidRequestError)
    assert str(as_json.value).startswith(wire) and str(as_flags.value).startswith(cli)


class Reader:
    """The Ledger's reading side, as far as the query module uses it, recording each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        if method not in {v.reader for v in CATALOG}:
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.calls.append((method, args, kwargs))
            return {"answered_by": method}

        return call

    def championship_state(self, key: str) -> str:
        return f"partition of {key}"

    def clock(self) -> datetime:
        return NOW


@pytest.mark.parametrize(("view", "request_", "call"), [
    ("standings", {"championship": "c", "class": "GT"},
     ("standings", ("c",), {"as_of": None, "known_at": None, "class_id": "GT"})),
    ("explain", {"championship": "c", "car": "7", "as_of": "2024-02-05"},
     ("explain", ("c", "7"), {"as_of": T, "known_at": None})),
    ("diff", {"championship": "c", "from": "2024-02-05", "to": "2024-02-05"},
     ("diff", ("c", T, T), {"known_at": None})),
    ("timeline", {"championship": "c"},
     ("timeline", ("c",), {"as_of": None, "known_at": None,
                           "retroactive_after": timedelta(hours=24)})),
    ("entry-list-diff", {"event": "e", "from": 1, "to": 2}, ("entry_list_diff", ("e", 1, 2), {})),
])
def test_a_query_is_answered_by_the_ledger_method_its_view_declares(
        view: str, request_: dict[str, Any], call: tuple[Any, ...]) -> None:
    reader = Reader()
    assert queries.answer(reader, view, request_) == {"answered_by": call[0]}
    assert reader.calls == [call]


def _facts(state: str, key: str, as_of: datetime, known_at: datetime, round_number: int,
           **optional: Any) -> dict[str, Any]:
    return {"state": state, "key": key, "times": (as_of, known_at), "round": round_number,
            **optional}


ROUNDS = View("rounds", CHAMPIONSHIP, "tests.unit.test_queries:_facts", "x",
              params=(*TIMES, Param("round", INTEGER, "r", required=True),
                      Param("limit", INTEGER, "n", default=3)))


def test_a_view_without_a_ledger_method_is_computed_over_its_partitions_state() -> None:
    reader = Reader()
    answer = queries.ask(reader, queries.parse(ROUNDS, {"championship": "c", "round": 2,
                                                        "as_of": "2024-02-05"}))
    assert answer == {"state": "partition of c", "key": "c", "times": (T, NOW), "round": 2,
                      "limit": 3}
    assert reader.calls == []
