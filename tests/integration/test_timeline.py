"""`audit timeline`: facts in effective-time order, with both times; retroactive ones flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.demo import ASLMS, OFFICIAL_FILES, SEASONS, season_dir
from services.importing import import_alkamel_file, register_season
from services.ledger import Ledger
from tests.conftest import Clock


def test_a_fact_recorded_long_after_it_took_effect_is_flagged(ledger: Ledger, clock: Clock) -> None:
    clock.set(datetime(2023, 11, 20, tzinfo=UTC))  # the rules, effective 1 Nov, recorded late
    register_season(ledger, SEASONS / f"{ASLMS}.toml", actor="test")
    flag_r1 = ledger.definition(ASLMS).round(1).flag_at
    clock.set(flag_r1 + timedelta(hours=1))  # R1 imported an hour after the flag: live
    import_alkamel_file(ledger, season_dir() / OFFICIAL_FILES[1], championship=ASLMS,
                        round_number=1, status="official", published_at=None, actor="timing")
    clock.set(flag_r1 + timedelta(days=700))  # R2 backfilled two years later
    import_alkamel_file(ledger, season_dir() / OFFICIAL_FILES[2], championship=ASLMS,
                        round_number=2, status="official", published_at=None, actor="backfill")

    view = ledger.timeline(ASLMS, as_of=clock.now, known_at=clock.now)
    kinds = [(f["kind"], f["round"], f["retroactive"]) for f in view["facts"]]
    assert kinds == [("definition", None, True), ("classification", 1, False),
                     ("classification", 2, True)]
    assert [f["effective_at"] for f in view["facts"]] == sorted(f["effective_at"] for f in view["facts"])
    assert view["retroactive"] == 2
    assert view["facts"][1]["recorded_after"] == timedelta(hours=1)
    tolerant = ledger.timeline(ASLMS, as_of=clock.now, known_at=clock.now,
                               retroactive_after=timedelta(days=1000))
    assert tolerant["retroactive"] == 0
