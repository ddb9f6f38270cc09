"""Aggregate ids from natural keys (uuid5), so commands are addressable and resends idempotent."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

_ROOT = "https://paddock.invalid"


def natural_id(path: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"{_ROOT}{path}")


def championship_path(championship: str) -> str:
    return f"/championships/{championship}"


def round_path(championship: str, round_number: int) -> str:
    return f"/championships/{championship}/rounds/{round_number}"


def decision_path(championship: str, round_number: int, reference: str) -> str:
    return f"/championships/{championship}/rounds/{round_number}/decisions/{reference}"


def award_path(award: str) -> str:
    return f"/awards/{award}"


def target_event_path(event: str) -> str:
    return f"/events/{event}"


def invitation_path(event: str, route: str) -> str:
    return f"/events/{event}/invitations/{route}"


def signing_key_path(public_key: str) -> str:
    return f"/signing-keys/{public_key}"
