"""Classification messages validated straight into stored records (services/
classification_records.py): the same records, bytes and digests as the contract's rows turned
into records, and never a message the contract refuses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.errors import InvalidInputError
from services import contracts as c
from services.classification_records import _ROW, classification_records
from services.demo import ASLMS
from services.ingest import row_records
from services.ledger import rows_digest
from services.timing_messages import row_contract
from tests.unit.test_ingest_records import DIGESTS, RACE_FILES, race_rows


def message(rows: list[dict[str, Any]], **fields: Any) -> bytes:
    return json.dumps({"kind": "classification.published", "championship": ASLMS, "round": 1,
                       "status": "official", "rows": rows, **fields}).encode()


def by_contract(payload: bytes) -> list[dict[str, Any]] | None:
    try:
        model = c.MESSAGE.validate_json(payload)
    except ValidationError:
        return None
    assert isinstance(model, c.ClassificationPublishedV1)
    return row_records(model)


@pytest.mark.parametrize("name", RACE_FILES)
def test_a_race_file_gives_the_records_bytes_and_digest_of_the_contract_way(name: str) -> None:
    payload = message([row_contract(r) for r in race_rows(name)])
    found = classification_records(payload)
    assert found is not None
    records = found.encoded
    expected = row_records(c.MESSAGE.validate_json(payload))  # type: ignore[arg-type]
    assert records == expected and records.canonical == expected.canonical
    assert records.stored == records.canonical
    assert rows_digest(records) == DIGESTS[name]


def test_the_message_fields_are_the_contracts() -> None:
    payload = message([{"position": 1, "car": "7", "team": "T", "class": "GT", "laps": 3,
                        "status": "retired"}],
                      kind="classification.corrected", reason="timing fix",
                      published_at="2024-02-11T15:00:00+04:00")
    found = classification_records(payload)
    model = c.MESSAGE.validate_json(payload)
    assert found is not None and isinstance(model, c.ClassificationCorrectedV1)
    assert (found.kind, found.championship, found.round, found.status, found.published_at) == (
        model.kind, model.championship, model.round, model.status, model.published_at)
    assert found.encoded == row_records(model)  # defaults filled in: drivers, group, ...


@pytest.mark.parametrize("payload", [
    message([{"position": 1, "car": "7", "team": "T", "class_": "GT", "laps": 3}]),  # by name
    json.dumps({"kind": "pole.recorded", "championship": ASLMS, "round": 1, "class": "GT",
                "car": "7"}).encode(),
    message([]), message([{"position": 1}]), b"{", message([], status="final"),
])
def test_what_it_does_not_accept_is_left_to_the_contract(payload: bytes) -> None:
    assert classification_records(payload) is None


def test_a_row_is_checked_as_the_contract_checks_it() -> None:
    """The row's JSON Schema (every constraint) is the contract row's, key for key (defaults
    aside: they are filled from a factory, and compared by the records above)."""
    ours = TypeAdapter(_ROW).json_schema()
    theirs = c.ClassificationRowV1.model_json_schema(by_alias=True)

    def constraints(schema: dict[str, Any]) -> dict[str, Any]:
        return {k: {f: v for f, v in p.items() if f != "default"}
                for k, p in schema["properties"].items()}

    assert constraints(ours) == constraints(theirs)
    assert set(ours["required"]) == set(theirs["required"])
    assert ours.get("additionalProperties") is theirs.get("additionalProperties") is False


VALUES = st.sampled_from([None, "", "7", "GT", "x" * 200, 0, 1, -1, 999999, 1.5, True, [],
                          ["A B"], [1], "3:43'26.017", "1'60.000", "١٢.٣", {"a": 1},
                          "classified", "retired", "bad\u0000"])
FIELDS = st.sampled_from(["position", "car", "team", "class", "class_", "drivers", "vehicle",
                          "status", "laps", "total_time", "group", "extra"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(FIELDS, VALUES, max_size=6), min_size=1, max_size=3),
       st.sampled_from([{}, {"version": 1}, {"version": 2}, {"round": 0}, {"status": "x"}]))
def test_it_accepts_nothing_the_contract_refuses(changes: list[dict[str, Any]],
                                                 fields: dict[str, Any]) -> None:
    base = {"position": 1, "car": "7", "team": "T", "class": "GT", "laps": 3,
            "status": "classified"}
    rows = [{**base, "position": i, "car": str(i), **change} for i, change in enumerate(changes, 1)]
    payload = message(rows, **fields)
    found = classification_records(payload)
    expected = by_contract(payload)
    if found is not None:
        assert expected is not None
        try:
            records = found.encoded
        except InvalidInputError as error:  # a time out of range: the contract way raises it too
            with pytest.raises(InvalidInputError, match=re.escape(str(error))):
                row_records(c.MESSAGE.validate_json(payload))  # type: ignore[arg-type]
            return
        assert records == expected and records.canonical == expected.canonical


def test_its_records_are_converted_once_whatever_asks_again() -> None:
    """A command retried after a concurrent writer's conflict dispatches the same message
    again: the records it stores are the same, not converted twice."""
    payload = message([{"position": 1, "car": "7", "team": "T", "class": "GT", "laps": 3,
                        "status": "classified", "total_time": "3:43'26.017"}])
    found = classification_records(payload)
    assert found is not None
    first = found.encoded
    assert found.encoded is first and first[0]["total_time"] == "13406.017"
