"""Parsing command-line values into domain values, with errors that say what to type."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInputError
from domain.timing import parse_when

__all__ = ["add_status_flags", "parse_decimal", "parse_duration", "parse_when"]


def add_status_flags(parser: argparse.ArgumentParser) -> None:
    """`--provisional | --official` (the default) into `args.status`: one spelling for the file
    importer and the producer, so what works for one works for the other."""
    status = parser.add_mutually_exclusive_group()
    status.add_argument("--provisional", dest="status", action="store_const", const="provisional")
    status.add_argument("--official", dest="status", action="store_const", const="official")
    parser.set_defaults(status="official")


def parse_decimal(text: str | None, *, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(f"{option}: '{text}' is not a number") from None
    if not value.is_finite():
        raise InvalidInputError(f"{option}: '{text}' is not a finite number")
    return value


def parse_duration(text: str | None, *, option: str) -> Decimal | None:
    """Seconds as `65`, `65.5`, or timing notation `1'05` / `1'05.000`."""
    if text is None:
        return None
    if "'" in text or ":" in text:
        from domain.timing import parse_race_time

        try:
            return parse_race_time(text)
        except InvalidInputError as error:
            raise InvalidInputError(f"{option}: {error.message}") from None
    return parse_decimal(text, option=option)
