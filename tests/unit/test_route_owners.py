"""One owner per invitation route (issue 9 item 14): the ledger refuses a second declaration
(tests/integration/test_entry_list.py); here, the views' defence in depth against a log that
holds one anyway (written before the check, or past it): a route is counted once."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.aggregates.championship import Championship
from services.demo import LEMANS, SEASONS
from services.importing import register_season
from services.ledger import Ledger
from services.season_files import parse_season_text
from tests.integration.support import ELMS_FILE, ELMS_ROUTE, ELMS_ROUTE_TOML

AT = datetime(2023, 4, 1, tzinfo=UTC)


def _ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                  clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


def _pending(ledger: Ledger) -> list[str]:
    view = ledger.entry_list(LEMANS)
    return [x["route"] for c in view["classes"] for x in c["pending"]]


def test_a_route_declared_twice_in_the_log_is_counted_once() -> None:
    ledger = _ledger()
    register_season(ledger, SEASONS / f"{LEMANS}.toml", actor="test")
    routes_before, pending_before = ledger.invitations(LEMANS)["routes"], _pending(ledger)
    text = ELMS_FILE.format(name="ELMS 2023", effective_at="2023-04-01T00:00:00Z") + ELMS_ROUTE_TOML
    record = parse_season_text(text, source="elms-2023.toml").to_record()
    # past the ledger's check, as a log written before it could hold it
    ledger.save(Championship(championship="elms-2023", definition=record, effective_at=AT,
                             recorded_at=AT, actor="legacy", source="file:elms-2023.toml"))
    after = ledger.invitations(LEMANS)
    assert [r["route"] for r in after["routes"]] == [r["route"] for r in routes_before]
    assert after["summary"]["invitation_routes"] == 10
    kept = next(r for r in after["routes"] if r["route"] == ELMS_ROUTE)
    assert kept["description"] == "European Le Mans Series LMP2 champion"
    assert kept["notes"][-1] == ("declared again by championship elms-2023 (file:elms-2023.toml): "
                                 "ignored, a route is counted once")
    assert _pending(ledger) == pending_before
    assert _pending(ledger).count(ELMS_ROUTE) == 1
