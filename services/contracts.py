"""Versioned message contracts for producers (timing systems, stewards, officials, organisers).

Each message is JSON on `paddock.ingest.<role>.<kind>.<key>` (the role that may send it,
domain/authority.py; the partition key: services/ingest_subjects.py); the body names its `kind`
and `version`, so a
producer can validate before sending with the JSON Schemas from `paddock schema`. Version 1 of
every contract is defined here; a new version is a new model, never an edit of an old one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.bounds import (
    CAR_PATTERN,
    CLASS_LENGTH,
    MAX_DECIMALS,
    MAX_DRIVERS,
    MAX_LAPS,
    MAX_PENALTY_LAPS,
    MAX_POINT_DECIMALS,
    MAX_POINTS,
    MAX_POSITION,
    MAX_RACE_SECONDS,
    MAX_ROWS,
    MAX_SEASON_BYTES,
    NAME_LENGTH,
    SAFE_TEXT_PATTERN,
    TEXT_LENGTH,
)
from services.ingest_subjects import unpartitioned_subject

Ident = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/+-]*$")]
Car = Annotated[str, Field(min_length=1, max_length=5, pattern=CAR_PATTERN)]
Text = Annotated[str, Field(max_length=TEXT_LENGTH, pattern=SAFE_TEXT_PATTERN)]
Name = Annotated[str, Field(max_length=NAME_LENGTH, pattern=SAFE_TEXT_PATTERN)]
ClassName = Annotated[str, Field(min_length=1, max_length=CLASS_LENGTH, pattern=SAFE_TEXT_PATTERN)]
Group = Annotated[str, Field(max_length=CLASS_LENGTH, pattern=SAFE_TEXT_PATTERN)]
Seconds = Annotated[Decimal, Field(ge=0, le=MAX_RACE_SECONDS, decimal_places=MAX_DECIMALS)]
Points = Annotated[Decimal, Field(ge=0, le=MAX_POINTS, decimal_places=MAX_POINT_DECIMALS)]
RaceTime = Annotated[str, Field(pattern=r"^(\d+:)?(\d{1,2}')?\d{1,2}(\.\d{1,6})?$",
                                description="h:mm'ss.mmm, m'ss.mmm or ss.mmm")]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    version: Literal[1] = 1


class SignatureV1(BaseModel):
    """The deciding person's ed25519 signature of the decision's statement (docs/SIGNING.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    public_key: Annotated[str, Field(pattern=r"^U[A-Z2-7]{55}$",
                                     description="nkeys user public key, registered in the ledger")]
    value: Annotated[str, Field(min_length=80, max_length=100,
                                description="base64 of the 64-byte signature")]


Signature = Annotated[SignatureV1 | None, Field(
    description="required: stewards' and officials' decisions are refused unsigned")]


class ClassificationRowV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    position: Annotated[int, Field(ge=1, le=MAX_POSITION)]
    car: Car
    team: Name
    class_: Annotated[ClassName, Field(alias="class")]
    drivers: Annotated[list[Name], Field(max_length=MAX_DRIVERS)] = []
    vehicle: Name = ""
    status: Literal["classified", "not_classified", "retired", "did_not_start", "disqualified",
                    "excluded"]
    laps: Annotated[int, Field(ge=0, le=MAX_LAPS)]
    total_time: RaceTime | None = None
    group: Group = ""


class ClassificationPublishedV1(Contract):
    """A timing system publishes a round's classification (provisional at the flag, or official)."""

    kind: Literal["classification.published"] = "classification.published"
    championship: Ident
    round: Annotated[int, Field(ge=1, le=100)]
    status: Literal["provisional", "official"]
    published_at: AwareDatetime | None = None
    rows: Annotated[list[ClassificationRowV1], Field(min_length=1, max_length=MAX_ROWS)]


class ClassificationCorrectedV1(ClassificationPublishedV1):
    """A corrected version of a classification already published; says why."""

    kind: Literal["classification.corrected"] = "classification.corrected"  # type: ignore[assignment]
    reason: Text


class ClassificationOfficialV1(Contract):
    kind: Literal["classification.official"] = "classification.official"
    championship: Ident
    round: Annotated[int, Field(ge=1, le=100)]
    effective_at: AwareDatetime


class PolePositionV1(Contract):
    kind: Literal["pole.recorded"] = "pole.recorded"
    championship: Ident
    round: Annotated[int, Field(ge=1, le=100)]
    class_: Annotated[ClassName, Field(alias="class")]
    car: Car
    effective_at: AwareDatetime | None = None


DecisionKindName = Literal["time_penalty", "lap_penalty", "disqualification", "exclusion",
                           "points_deduction", "pole_stripped"]


class PenaltyImposedV1(Contract):
    kind: Literal["penalty.imposed"] = "penalty.imposed"
    championship: Ident
    round: Annotated[int, Field(ge=1, le=100)]
    car: Car
    decision: DecisionKindName
    seconds: Seconds | None = None
    laps: Annotated[int, Field(ge=1, le=MAX_PENALTY_LAPS)] | None = None
    points: Points | None = None
    reference: Ident | None = None
    reason: Text = ""
    effective_at: AwareDatetime
    signature: Signature = None


class PenaltyAmendedV1(PenaltyImposedV1):
    kind: Literal["penalty.amended"] = "penalty.amended"  # type: ignore[assignment]
    reference: Ident


class PenaltyRescindedV1(Contract):
    kind: Literal["penalty.rescinded"] = "penalty.rescinded"
    championship: Ident
    round: Annotated[int, Field(ge=1, le=100)]
    reference: Ident
    reason: Text = ""
    effective_at: AwareDatetime
    signature: Signature = None


class RecipientV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    driver: Name | None = None
    team: Name | None = None
    car: Car | None = None


class AwardDecidedV1(Contract):
    kind: Literal["award.decided"] = "award.decided"
    award: Ident
    name: Annotated[str, Field(max_length=200, pattern=SAFE_TEXT_PATTERN)]
    series: Ident
    recipient: RecipientV1
    effective_at: AwareDatetime
    signature: Signature = None


class InvitationTransitionV1(Contract):
    kind: Literal["invitation.transition"] = "invitation.transition"
    event: Ident
    route: Ident
    status: Literal["confirmed", "accepted", "declined", "withdrawn", "reallocated", "redeemed"]
    holder: RecipientV1 | None = None
    reason: Text = ""
    effective_at: AwareDatetime


class SeasonRegisteredV1(Contract):
    """A season definition, as the TOML text documented in the README."""

    kind: Literal["season.registered"] = "season.registered"
    format: Literal["toml"] = "toml"
    text: Annotated[str, Field(min_length=1, max_length=MAX_SEASON_BYTES)]


class TieResolvedV1(Contract):
    kind: Literal["tie.resolved"] = "tie.resolved"
    championship: Ident
    class_: Annotated[ClassName, Field(alias="class")]
    order: Annotated[list[Car], Field(min_length=2, max_length=50)]
    reference: Ident
    reason: Text = ""
    effective_at: AwareDatetime
    signature: Signature = None


Message = Annotated[
    ClassificationPublishedV1 | ClassificationCorrectedV1 | ClassificationOfficialV1 | PolePositionV1 | PenaltyImposedV1 | PenaltyAmendedV1 | PenaltyRescindedV1 | AwardDecidedV1 | InvitationTransitionV1 | SeasonRegisteredV1 | TieResolvedV1,
    Field(discriminator="kind"),
]
MESSAGE = TypeAdapter(Message)
CONTRACTS: tuple[type[Contract], ...] = (
    ClassificationPublishedV1, ClassificationCorrectedV1, ClassificationOfficialV1,
    PolePositionV1, PenaltyImposedV1, PenaltyAmendedV1, PenaltyRescindedV1, AwardDecidedV1,
    InvitationTransitionV1, SeasonRegisteredV1, TieResolvedV1,
)


def kind_of(model: type[Contract]) -> str:
    default = model.model_fields["kind"].default
    assert isinstance(default, str)
    return default


def subject_for(kind: str, prefix: str = "paddock") -> str:
    """`paddock.ingest.steward.penalty.imposed`: the role in the subject lets the NATS server
    enforce who may publish what. A producer appends the partition key
    (services/ingest_subjects.py); without it, the message goes to the unpartitioned group."""
    return unpartitioned_subject(kind, prefix)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per contract, keyed by kind."""
    return {kind_of(m): m.model_json_schema(by_alias=True) for m in CONTRACTS}
