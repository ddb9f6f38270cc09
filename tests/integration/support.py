"""Helpers shared by the integration tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.demo import (
    ACTOR,
    ASLMS,
    LEMANS,
    OFFICIAL_FILES,
    POLES,
    R5_AT_FLAG,
    R5_PUBLISHED,
    SEASONS,
    register_demo_keys,
    season_dir,
)
from services.importing import import_alkamel_file, register_season
from services.ledger import Ledger

SEASON_DIR = season_dir()
R5_OFFICIAL_FILE = SEASON_DIR / "R5_abudhabi_2024-02-11_race2_hour4.csv"


def at(text: str) -> datetime:
    """An aware datetime from ISO text (every literal in these tests carries its offset)."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def rows(view: dict[str, Any], class_id: str) -> list[dict[str, Any]]:
    for c in view["classes"]:
        if c["class"] == class_id:
            return list(c["rows"])
    raise AssertionError(f"no class {class_id} in view")


def points(view: dict[str, Any], class_id: str) -> dict[str, Decimal]:
    """car → points of one class."""
    return {r["car"]: r["points"] for r in rows(view, class_id)}


def top(view: dict[str, Any], class_id: str, n: int = 3) -> list[tuple[int, str, Decimal]]:
    """(position, car, points) of the first n rows of a class."""
    return [(r["position"], r["car"], r["points"]) for r in rows(view, class_id)[:n]]


def route(view: dict[str, Any], route_id: str) -> dict[str, Any]:
    for r in view["routes"]:
        if r["route"] == route_id:
            return dict(r)
    raise AssertionError(f"no route {route_id}: {[r['route'] for r in view['routes']]}")


def register_demo_seasons(ledger: Ledger) -> None:
    """The demo's seasons and signing keys: what a test needs before recording its own facts."""
    register_demo_keys(ledger)
    register_season(ledger, SEASONS / f"{ASLMS}.toml", actor=ACTOR)
    register_season(ledger, SEASONS / f"{LEMANS}.toml", actor=ACTOR)


def import_official(ledger: Ledger, number: int) -> None:
    import_alkamel_file(ledger, SEASON_DIR / OFFICIAL_FILES[number], championship=ASLMS,
                        round_number=number, status="official", published_at=None, actor=ACTOR)


def import_r5_at_flag(ledger: Ledger) -> None:
    import_alkamel_file(ledger, SEASON_DIR / R5_AT_FLAG, championship=ASLMS, round_number=5,
                        status="provisional", published_at=R5_PUBLISHED, actor=ACTOR)


def record_known_poles(ledger: Ledger) -> None:
    for number, class_id, car, qualified_at in POLES:
        ledger.record_pole(ASLMS, number, class_id, car, effective_at=qualified_at, actor=ACTOR,
                           source="test:known-poles")


def write_copy(src: Path, dest: Path, change: Any) -> Path:
    """Write `src` to `dest` after `change(list_of_lines) -> list_of_lines` (text, LF)."""
    lines = src.read_text(encoding="utf-8").split("\n")
    dest.write_text("\n".join(change(lines)), encoding="utf-8")
    return dest


# A championship whose file declares a Le Mans route the event's own file declares too.
ELMS_ROUTE = "elms-2023/lmp2-champion"
ELMS_FILE = """kind = "championship"
id = "elms-2023"
name = "{name}"
series = "elms"
season = "2023"
effective_at = {effective_at}
[rules]
pole_points = 1
[rules.scales]
standard = [25, 18, 15, 12, 10, 8, 6, 4, 2, 1]
[[classes]]
id = "LMP2"
[[rounds]]
number = 1
name = "4 Hours of Barcelona"
flag_at = 2023-04-16T16:00:00+02:00
"""
ELMS_ROUTE_TOML = f"""[[invitation_routes]]
id = "{ELMS_ROUTE}"
target_event = "lemans-2024"
target_class = "LMP2"
description = "European Le Mans Series LMP2 champion"
source = {{ type = "standings", championship = "elms-2023", class = "LMP2", position = 1 }}
"""


def elms_file(tmp_path: Path, *, revised: bool = False, with_route: bool = True) -> Path:
    """The ELMS 2023 file; `revised`: a later version (another name, its own effective time)."""
    name, effective_at = (("ELMS 2023", "2023-05-01T00:00:00Z") if revised
                          else ("European Le Mans Series 2023", "2023-04-01T00:00:00Z"))
    path = tmp_path / "elms-2023.toml"
    text = ELMS_FILE.format(name=name, effective_at=effective_at)
    path.write_text(text + (ELMS_ROUTE_TOML if with_route else ""), encoding="utf-8")
    return path
