"""What the service benchmark feeds Paddock: synthetic championships (LMP2/LMP3/GT) raced with
the real Asian Le Mans Series 2023/24 classifications, as producer messages, and a large log of
real domain events for the as-of queries.

Everything is deterministic (seeded), so two runs measure the same work.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.aggregates.championship import Championship
from domain.aggregates.race_classification import RaceClassification
from domain.aggregates.stewards_decision import StewardsDecision
from domain.classification import ClassificationRow
from domain.decisions import DecisionKind, DecisionTerms
from services import contracts as c
from services.alkamel import parse_alkamel
from services.ledger import Ledger, rows_digest
from services.season_files import ChampionshipFile, parse_season_text
from services.timing_messages import OutgoingMessage, message, row_contract

SEASON_DIR = Path(__file__).resolve().parents[1] / "services" / "seasons" / "aslms-2023-24"
# The five real race classifications of the season (39–41 cars each, ~10 KB as a message).
RACE_FILES = (
    "R1_sepang_2023-12-02_race1_hour4.csv",
    "R2_sepang_2023-12-03_race2_hour4.csv",
    "R3_dubai_2024-02-04_race_hour4.csv",
    "R4_abudhabi_2024-02-10_race1_hour4.csv",
    "R5_abudhabi_2024-02-11_race2_hour4.csv",
)
MAX_ROUNDS = 100  # the contract's limit on a round number (services/contracts.py)
SEASON_START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ACTOR = "bench"


def race_rows() -> list[tuple[ClassificationRow, ...]]:
    """The real classifications, parsed as the importer parses them."""
    return [parse_alkamel((SEASON_DIR / name).read_bytes(), source=name) for name in RACE_FILES]


def season_toml(championship: str, rounds: int, *, start: datetime = SEASON_START,
                registered_at: datetime | None = None) -> str:
    """A championship season file (the README's format) with classes LMP2/LMP3/GT."""
    effective = registered_at or start - timedelta(days=30)
    lines = [
        'kind = "championship"',
        f'id = "{championship}"',
        f'name = "Benchmark championship {championship}"',
        'series = "bench"',
        'season = "2025"',
        f"effective_at = {_toml_time(effective)}",
        "",
        "[rules]",
        "pole_points = 1",
        'tie_break = ["countback"]',
        "[rules.scales]",
        "standard = [25, 18, 15, 12, 10, 8, 6, 4, 2, 1]",
        "",
        '[[classes]]\nid = "LMP2"',
        '[[classes]]\nid = "LMP3"',
        '[[classes]]\nid = "GT"\nname = "GT (GT3)"',
    ]
    for number in range(1, rounds + 1):
        lines += ["", "[[rounds]]", f"number = {number}", f'name = "Round {number}"',
                  f"flag_at = {_toml_time(flag_at(start, number))}"]
    return "\n".join(lines) + "\n"


def flag_at(start: datetime, number: int) -> datetime:
    return start + timedelta(days=2 * (number - 1))


def _toml_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the ingest workload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestWorkload:
    seasons: list[OutgoingMessage]  # season.registered, sent (and recorded) before the timing
    classifications: list[OutgoingMessage]  # one per round: what the timed phase ingests
    rows: int  # result rows in all the classifications

    @property
    def payload_bytes(self) -> int:
        return sum(len(m.body) for m in self.classifications)


def ingest_workload(messages: int, *, rounds_per_championship: int = MAX_ROUNDS,
                    prefix: str = "paddock") -> IngestWorkload:
    """`messages` classification messages (status official, as the timing system publishes the
    official file), one per round, over as many championships as the round limit needs."""
    if not 1 <= rounds_per_championship <= MAX_ROUNDS:
        raise ValueError(f"rounds per championship: 1..{MAX_ROUNDS}")
    files = race_rows()
    contracts_rows = [[row_contract(r) for r in rows] for rows in files]
    championships = -(-messages // rounds_per_championship)
    seasons, classifications, total_rows = [], [], 0
    for i in range(championships):
        cid = f"bench-{i:04d}"
        rounds = min(rounds_per_championship, messages - i * rounds_per_championship)
        seasons.append(message(c.SeasonRegisteredV1(text=season_toml(cid, rounds)), prefix))
        for number in range(1, rounds + 1):
            rows = contracts_rows[(i * rounds_per_championship + number - 1) % len(files)]
            model = c.ClassificationPublishedV1.model_validate({
                "championship": cid, "round": number, "status": "official",
                "published_at": None, "rows": rows,
            })
            classifications.append(message(model, prefix))
            total_rows += len(rows)
    return IngestWorkload(seasons, classifications, total_rows)


# -- the large log for as-of queries -----------------------------------------------------------


@dataclass
class LogSpec:
    """Shape of one synthetic championship in the large log."""

    rounds: int = 6
    decisions_per_round: int = 30  # time penalties and points deductions
    rescinded_share: float = 0.1  # of those, rescinded later (an appeal)
    cohort: int = 100  # championships racing in parallel (their events interleave in the log)

    def events_per_championship(self) -> int:
        rescinded = round(self.decisions_per_round * self.rescinded_share)
        # opened + published + 3 poles + decisions + rescinds + declared official
        per_round = 1 + 1 + 3 + self.decisions_per_round + rescinded + 1
        return 1 + self.rounds * per_round


@dataclass
class BigLog:
    """What was written, for drawing queries that land inside each championship's life."""

    events: int
    championships: list[str]
    registered: dict[str, tuple[datetime, datetime]]  # id → (effective_at, recorded_at)
    first_flag: dict[str, datetime]
    last_flag: dict[str, datetime]
    recorded_until: datetime
    aggregate_ids: list[UUID]


class _Clock:
    """The recording clock of the synthetic service: a few seconds per fact, never before what
    it records (a fact is recorded after it happens)."""

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=5)) -> None:
        self.now = start
        self.step = step

    def tick(self, not_before: datetime | None = None) -> datetime:
        self.now += self.step
        if not_before is not None and self.now < not_before:
            self.now = not_before
        return self.now


def build_big_log(ledger: Ledger, target_events: int, *, spec: LogSpec | None = None,
                  batch_events: int = 1000, seed: int = 20261122,
                  progress: Callable[[int], None] = lambda _: None) -> BigLog:
    """Append about `target_events` real Paddock facts: championships registered, rounds
    published (real 40-car classifications), poles, stewards' decisions, official marks.

    Aggregates are built as the Ledger's commands build them (same constructors and methods),
    without the per-command validation reads, and saved many per `ledger.save(*aggregates)`
    call (one transaction of about `batch_events` events)."""
    spec = spec or LogSpec()
    rng = random.Random(seed)
    files = race_rows()
    records = [[r.to_record() for r in rows] for rows in files]
    digests = [rows_digest(rows) for rows in records]
    cars = [[r.car for r in rows] for rows in files]
    poles = [{cls: next(r.car for r in rows if r.class_name == cls) for cls in ("LMP2", "LMP3", "GT")}
             for rows in files]
    template = parse_season_text(season_toml("template", spec.rounds), source="bench")
    assert isinstance(template, ChampionshipFile)
    base_definition = template.to_record()

    count = -(-target_events // spec.events_per_championship())
    ids = [f"big-{i:05d}" for i in range(count)]
    log = BigLog(0, ids, {}, {}, {}, SEASON_START, [])
    clock = _Clock(SEASON_START - timedelta(days=60))
    writer = _BatchWriter(ledger, batch_events, log, progress)

    for start in range(0, count, spec.cohort):
        cohort = ids[start:start + spec.cohort]
        season_start = clock.now + timedelta(days=30)
        for cid in cohort:
            definition = _definition(base_definition, cid, season_start, spec.rounds)
            effective = season_start - timedelta(days=30)
            recorded = clock.tick()
            log.registered[cid] = (effective, recorded)
            log.first_flag[cid] = flag_at(season_start, 1)
            log.last_flag[cid] = flag_at(season_start, spec.rounds)
            writer.add(Championship(championship=cid, definition=definition,
                                    effective_at=effective, recorded_at=recorded,
                                    actor=ACTOR, source="bench:season"))
        for number in range(1, spec.rounds + 1):
            flag = flag_at(season_start, number)
            for k, cid in enumerate(cohort):
                race = (start + k + number) % len(files)
                writer.add(*_round(cid, number, flag, race, records, digests, cars, poles,
                                   spec, rng, clock))
    writer.flush()
    log.recorded_until = clock.now
    return log


def _definition(base: dict[str, Any], cid: str, start: datetime, rounds: int) -> dict[str, Any]:
    definition = dict(base, id=cid, name=f"Benchmark championship {cid}")
    definition["rounds"] = [dict(r, flag_at=flag_at(start, r["number"]).isoformat())
                            for r in base["rounds"][:rounds]]
    return definition


def _round(cid: str, number: int, flag: datetime, race: int, records: list[list[dict[str, Any]]],
           digests: list[str], cars: list[list[str]], poles: list[dict[str, str]], spec: LogSpec,
           rng: random.Random, clock: _Clock) -> Iterator[Aggregate]:
    source = f"bench:{cid}/R{number}"
    at = clock.tick(flag + timedelta(minutes=5))
    rnd = RaceClassification(championship=cid, round_number=number, effective_at=flag,
                             recorded_at=at, actor=ACTOR, source=source)
    rnd.publish("provisional", digests[race], records[race], flag, at, ACTOR, source)
    for class_id, car in poles[race].items():
        rnd.record_pole(class_id, car, flag - timedelta(days=1), clock.tick(), ACTOR, source)
    decisions = []
    for d in range(spec.decisions_per_round):
        car = rng.choice(cars[race])
        if rng.random() < 0.7:
            terms = DecisionTerms(DecisionKind.TIME_PENALTY, car, seconds=Decimal(rng.choice((5, 10, 30, 60))))
        else:
            terms = DecisionTerms(DecisionKind.POINTS_DEDUCTION, car, points=Decimal(rng.choice((1, 2, 5))))
        recorded = clock.tick()
        effective = max(flag, recorded - timedelta(minutes=rng.randint(0, 30)))
        decisions.append(StewardsDecision(
            championship=cid, round_number=number, reference=f"{cid}-R{number}-D{d:03d}",
            terms=terms.to_record(), reason="bench: track limits", signature=UNSIGNED,
            effective_at=effective,
            recorded_at=recorded, actor="stewards:bench", source=source))
    for decision in rng.sample(decisions, round(len(decisions) * spec.rescinded_share)):
        recorded = clock.tick()
        decision.rescind("bench: appeal upheld", UNSIGNED, max(recorded, decision.last_effective_at),
                         recorded, "court:bench", source)
    official_at = clock.tick()
    rnd.declare_official(official_at, official_at, ACTOR, source)
    yield rnd
    yield from decisions


UNSIGNED: dict[str, str] = {}  # written past the Ledger, as a migration would: no signer to check


class _BatchWriter:
    """Saves aggregates many at a time: one `Ledger.save` (one transaction) per ~batch events."""

    def __init__(self, ledger: Ledger, batch_events: int, log: BigLog,
                 progress: Callable[[int], None]) -> None:
        self.ledger = ledger
        self.batch_events = batch_events
        self.log = log
        self.progress = progress
        self.pending: list[Aggregate] = []
        self.pending_events = 0

    def add(self, *aggregates: Aggregate) -> None:
        for agg in aggregates:
            self.pending.append(agg)
            self.pending_events += len(agg.pending_events)
            self.log.aggregate_ids.append(agg.id)
        if self.pending_events >= self.batch_events:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        recordings = self.ledger.save(*self.pending)
        self.log.events += len(recordings)
        self.pending, self.pending_events = [], 0
        self.progress(self.log.events)

def query_point(log: BigLog, rng: random.Random) -> tuple[str, datetime, datetime]:
    """A championship and a point on each time axis: `as_of` from the day before its first
    round to a few days after its last; `known_at` half the time the end of the log (what is
    known now), half the time a moment of the season (from its registration to a few days after
    its last round: what was known then). Every query returns standings."""
    championship = rng.choice(log.championships)
    _, recorded = log.registered[championship]
    first, end = log.first_flag[championship] - timedelta(days=1), \
        log.last_flag[championship] + timedelta(days=3)
    as_of = first + (end - first) * rng.random()
    if rng.random() < 0.5:
        known_at = log.recorded_until
    else:
        known_at = recorded + (end - recorded) * rng.random()
    return championship, as_of, known_at
