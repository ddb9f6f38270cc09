"""Classification messages validated straight into the row records the log stores (issue 10
item 6: store the validated rows as they are, no round trip through row objects).

The contract (services/contracts.py) stays the one definition of a valid message and the source
of every error a producer reads. This validator is derived from it, field by field (the same
annotated types, constraints and defaults, `extra="forbid"`), as typed dicts instead of models:
a row's keys are the stored record's, declared in the record's sorted order, so what
pydantic-core returns are the records themselves, built in one pass in Rust, without a row
object per row or a Python dict built from each. Only `total_time` is converted afterwards (to
the exact seconds a record stores), as the ingest path always did.

It accepts a subset of what the contract accepts (its keys are the aliases only: a row giving
`class_` for `class` is not accepted here), so a message it refuses (another kind, an invalid
message, such a spelling) is validated by the contract as before, which accepts it or names
what is wrong (tests/unit/test_classification_records.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from pydantic.fields import FieldInfo
from typing_extensions import TypedDict

from domain.classification import RECORD_KEYS
from domain.timing import race_seconds_text
from services import contracts as c
from services.row_json import EncodedRows

_FORBID = ConfigDict(extra="forbid")


def _annotation(info: FieldInfo) -> Any:
    """The field's type with its constraints and default, for a typed dict's key."""
    annotation: Any = info.annotation
    if info.is_required():
        return Annotated[annotation, *info.metadata, Field()]
    default = info.default
    return Annotated[annotation, *info.metadata,
                     Field(default_factory=lambda: copy.copy(default))]


def typed_dict_of(model: type[BaseModel], name: str, sort: bool = False,
                  **replaced: Any) -> Any:
    """A typed dict validating what `model` validates, keyed by each field's alias (and, with
    `sort`, in sorted key order); `replaced` gives some keys another type (nested rows)."""
    fields = {(info.alias or key): replaced.get(info.alias or key, _annotation(info))
              for key, info in model.model_fields.items()}
    if sort:
        fields = dict(sorted(fields.items()))
    return with_config(_FORBID)(TypedDict(name, fields))  # type: ignore[operator]


_ROWS_INFO = c.ClassificationPublishedV1.model_fields["rows"]
_ROW = typed_dict_of(c.ClassificationRowV1, "RowRecord", sort=True)
assert tuple(_ROW.__annotations__) == RECORD_KEYS, "a row's keys are a stored record's"
_ROWS = Annotated[list[_ROW], *_ROWS_INFO.metadata]  # type: ignore[valid-type]
_KINDS = (c.ClassificationPublishedV1, c.ClassificationCorrectedV1)
_VALIDATOR: TypeAdapter[Any] = TypeAdapter(Annotated[  # type: ignore[arg-type]
    Union[tuple(typed_dict_of(m, m.__name__ + "Records", rows=_ROWS) for m in _KINDS)],  # noqa: UP007
    Field(discriminator="kind")])


@dataclass(frozen=True)
class ClassificationRecords:
    """A valid classification message (published or corrected), its rows as stored records."""

    kind: Literal["classification.published", "classification.corrected"]
    championship: str
    round: int
    status: str
    published_at: datetime | None
    records: list[dict[str, Any]]

    @cached_property
    def encoded(self) -> EncodedRows:
        """The records with their times in exact seconds, encoded once (raises the domain's
        error for a time out of range, as the row conversion always did). Computed once: a
        command retried after a concurrent writer's conflict reuses them."""
        for record in self.records:
            time = record["total_time"]
            if time is not None:
                record["total_time"] = race_seconds_text(time)
        return EncodedRows(self.records, plain=True)


def classification_records(payload: bytes) -> ClassificationRecords | None:
    """The message as records, or None: not a classification, or not one this validator
    accepts (the contract then decides)."""
    try:
        found = _VALIDATOR.validate_json(payload)
    except ValidationError:
        return None
    return ClassificationRecords(found["kind"], found["championship"], found["round"],
                                 found["status"], found["published_at"], found["rows"])
