"""The messages a timing system (and the officials) would send for a season: what
`paddock produce` replays over NATS, and what the tests send to the service."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.classification import ClassificationRow
from domain.timing import format_race_time
from projections.canonical import to_plain
from services import contracts as c
from services import demo
from services.alkamel import parse_alkamel
from services.importing import read_bytes
from services.ingest_subjects import subject_of
from services.message_signing import signed


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    body: bytes
    message_id: str


def message(model: c.Contract, prefix: str = "paddock") -> OutgoingMessage:
    """Serialise a contract, on its partitioned subject (services/ingest_subjects.py); its id is
    a digest of its content, so a resend is the same message."""
    body = json.dumps(to_plain(model.model_dump(mode="json", by_alias=True)), sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()
    subject = subject_of(model, prefix)
    return OutgoingMessage(subject, body, hashlib.sha256(subject.encode() + body).hexdigest()[:32])


def row_contract(row: ClassificationRow) -> dict[str, Any]:
    return {
        "position": row.position, "car": row.car, "team": row.team, "class": row.class_name,
        "drivers": list(row.drivers), "vehicle": row.vehicle, "status": row.status.value,
        "laps": row.laps, "group": row.group,
        "total_time": None if row.total_time is None else format_race_time(row.total_time),
    }


def classification_message(path: Path, championship: str, round_number: int, status: str,
                           published_at: datetime | None, prefix: str = "paddock") -> OutgoingMessage:
    rows = parse_alkamel(read_bytes(path), source=path.name)
    model = c.ClassificationPublishedV1.model_validate({
        "championship": championship, "round": round_number, "status": status,
        "published_at": published_at, "rows": [row_contract(r) for r in rows],
    })
    return message(model, prefix)


def demo_messages(prefix: str = "paddock") -> list[OutgoingMessage]:
    """The demo season (services/demo.py) as the messages its producers would send; the
    decisions are signed with the demo keys, which the service's ledger must know
    (`paddock keys demo`)."""
    seasons = [c.SeasonRegisteredV1(text=(demo.SEASONS / f"{name}.toml").read_text(encoding="utf-8"))
               for name in (demo.ASLMS, demo.LEMANS)]
    out = [message(m, prefix) for m in seasons]
    for award, name, driver, at in demo.AWARDS:
        out.append(message(signed(c.AwardDecidedV1.model_validate({
            "award": award, "name": name, "series": "imsa", "recipient": {"driver": driver},
            "effective_at": at}), demo.DEMO_OFFICIAL), prefix))
    for number, file in demo.OFFICIAL_FILES.items():
        out.append(classification_message(demo.season_dir() / file, demo.ASLMS, number, "official",
                                          None, prefix))
    out.append(classification_message(demo.season_dir() / demo.R5_AT_FLAG, demo.ASLMS, 5,
                                      "provisional", demo.R5_PUBLISHED, prefix))
    for number, class_id, car, qualified_at in demo.POLES:
        out.append(message(c.PolePositionV1.model_validate(
            {"championship": demo.ASLMS, "round": number, "class": class_id, "car": car,
             "effective_at": qualified_at}), prefix))
    for p in demo.R5_PENALTIES:
        t = p.terms
        out.append(message(signed(c.PenaltyImposedV1.model_validate({
            "championship": demo.ASLMS, "round": 5, "car": t.car, "decision": t.kind.value,
            "seconds": t.seconds, "laps": t.laps, "points": t.points, "reference": p.reference,
            "reason": p.reason, "effective_at": demo.R5_DECIDED}), demo.DEMO_STEWARD), prefix))
    out.append(message(c.ClassificationOfficialV1.model_validate({
        "championship": demo.ASLMS, "round": 5, "effective_at": demo.R5_OFFICIAL_AT}), prefix))
    return out
