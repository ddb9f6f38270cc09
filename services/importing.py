"""Importing files into the ledger: season definitions and Al Kamel classifications."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from domain.bounds import MAX_FILE_BYTES
from domain.errors import InvalidInputError
from services.alkamel import parse_alkamel
from services.ledger import Ledger
from services.outcome import Outcome
from services.season_files import ChampionshipFile, SeasonFile, load_season_file


def register_season(ledger: Ledger, path: Path, *, actor: str) -> Outcome:
    return register_season_file(ledger, load_season_file(path), actor=actor, source=f"file:{path.name}")


def register_season_file(ledger: Ledger, file: SeasonFile, *, actor: str, source: str) -> Outcome:
    if isinstance(file, ChampionshipFile):
        return ledger.register_championship(
            file.to_record(), effective_at=file.effective_at, actor=actor, source=source
        )
    return ledger.register_target_event(
        file.to_record(), effective_at=file.effective_at, actor=actor, source=source
    )


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most `limit` + 1 bytes: enough to refuse an over-long file without reading it all."""
    try:
        with path.open("rb") as file:
            return file.read(limit + 1)
    except OSError as error:
        raise InvalidInputError(f"cannot read file: {error.strerror}", where=str(path)) from None


def import_alkamel_file(ledger: Ledger, path: Path, *, championship: str, round_number: int,
                        status: str, published_at: datetime | None, actor: str) -> Outcome:
    """Parse the whole file first: a bad line rejects the file and nothing is appended."""
    rows = parse_alkamel(read_bytes(path), source=path.name)
    return ledger.import_classification(
        championship, round_number, rows, status=status, published_at=published_at,
        actor=actor, source=f"alkamel:{path.name}",
    )
