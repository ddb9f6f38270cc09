"""Message contracts: shipped schemas are current, and validation names what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from services import contracts as c
from services.asyncapi import asyncapi

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_shipped_json_schemas_match_the_models() -> None:
    for kind, schema in c.json_schemas().items():
        shipped = json.loads((SHIPPED / f"{kind}.schema.json").read_text())
        assert shipped == schema, f"docs/schemas/{kind}.schema.json is stale: run `paddock schema --out docs/schemas`"


def test_shipped_asyncapi_matches_and_describes_every_contract() -> None:
    doc = asyncapi()
    assert json.loads((SHIPPED / "asyncapi.json").read_text()) == doc
    addresses = {ch["address"] for ch in doc["channels"].values()}
    for model in c.CONTRACTS:
        assert f"{c.subject_for(c.kind_of(model))}.{{key}}" in addresses  # the partition key
    assert "paddock.standings.{championship}.{class}" in addresses
    assert "paddock.dlq.{reason}" in addresses


def refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
    return [r for v in node for r in refs(v)] if isinstance(node, list) else []


def test_every_ref_of_the_asyncapi_document_resolves_from_its_root() -> None:
    """Payloads share the contracts' definitions through components/schemas (issue 9 item 22;
    the official parser's check: tests/e2e/test_asyncapi_document.py)."""
    doc = asyncapi()
    assert "$defs" not in json.dumps(doc)
    for ref in refs(doc):
        node: object = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
            node = node[part]
    assert {"RecipientV1", "SignatureV1", "ClassificationRowV1"} <= set(doc["components"]["schemas"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "pole.recorded", "championship": "x", "round": 0, "class": "GT", "car": "1"}, "round"),
        ({"kind": "pole.recorded", "championship": "x", "round": 1, "class": "GT", "car": "1 2"}, "car"),
        ({"kind": "pole.recorded", "championship": "x", "round": 1, "class": "GT", "car": "1",
          "extra": 1}, "extra"),
        ({"kind": "penalty.imposed", "championship": "x", "round": 1, "car": "1",
          "decision": "time_penalty", "effective_at": "2024-01-01T00:00:00"}, "effective_at"),
        ({"kind": "nope"}, "kind"),
    ],
)
def test_invalid_messages_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        c.MESSAGE.validate_python(body)
    assert any(field in ".".join(map(str, e["loc"])) or field in e["msg"] for e in error.value.errors())


def test_a_valid_classification_message_round_trips() -> None:
    body = {"kind": "classification.published", "championship": "aslms-2023-24", "round": 1,
            "status": "official", "rows": [{"position": 1, "car": "4", "team": "T", "class": "LMP2",
                                            "status": "classified", "laps": 100,
                                            "total_time": "3:43'26.017"}]}
    message = c.MESSAGE.validate_python(body)
    assert isinstance(message, c.ClassificationPublishedV1)
    assert message.rows[0].class_ == "LMP2"


PENALTY = {"kind": "penalty.imposed", "championship": "x", "round": 1, "car": "1",
           "decision": "time_penalty", "effective_at": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seconds": "1E+999999"}, "seconds"),
        ({"seconds": "172801"}, "seconds"),
        ({"seconds": "0.0000001"}, "seconds"),
        ({"decision": "lap_penalty", "laps": 10**26}, "laps"),
        ({"decision": "points_deduction", "points": "1E+999999"}, "points"),
        ({"decision": "points_deduction", "points": "0.001"}, "points"),
        ({"reason": "ok\x1b[2J"}, "reason"),
        ({"car": "\u200b1"}, "car"),
        ({"car": "\uff11"}, "car"),
    ],
)
def test_penalty_bounds_are_the_files_and_the_clis(change: dict[str, object], field: str) -> None:
    """The same limits (domain/bounds.py) as `paddock penalty impose` and the importer."""
    with pytest.raises(ValidationError) as error:
        c.MESSAGE.validate_python({**PENALTY, **change})
    assert any(field in ".".join(map(str, e["loc"])) for e in error.value.errors())


def test_text_fields_refuse_control_characters() -> None:
    row = {"position": 1, "car": "4", "team": "Evil\x1b[31m", "class": "LMP2", "status": "classified",
           "laps": 100}
    with pytest.raises(ValidationError, match="team"):
        c.MESSAGE.validate_python({"kind": "classification.published", "championship": "x",
                                   "round": 1, "status": "official", "rows": [row]})
