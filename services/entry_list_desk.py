"""The organiser's commands on a target event's entry list (capacities, committee places,
reserves, publications) and its queries; part of the Ledger (a mixin), kept apart so each
module has one job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.aggregates.target_event import TargetEvent
from domain.bounds import MAX_CAPACITY
from domain.entry_list import OVERALL
from domain.errors import InvalidInputError, UnknownClassError, UnknownTargetEventError
from domain.invitations import ACCEPTED, CONFIRMED, REALLOCATED
from domain.timing import require_aware
from projections.entry_list_view import entry_list_diff, entry_list_view
from services.ledger_port import LedgerPort
from services.outcome import DUPLICATE, Outcome

HOLDING = (CONFIRMED, ACCEPTED, REALLOCATED)
"""Invitation statuses that hold a place: confirming or accepting one counts towards the limit."""


class EntryListDesk(LedgerPort):
    """Mixed into the Ledger (see services/ledger_port.py for what it uses of it)."""

    def _target_event(self, event_id: str) -> TargetEvent:
        event = self.find(TargetEvent, event_id=event_id)
        if event is None:
            known = self.known("target event")
            raise UnknownTargetEventError(f"unknown target event '{event_id}' (known: {known})")
        return event

    def change_capacity(self, event_id: str, class_id: str | None, capacity: int, *, reason: str,
                        effective_at: datetime, actor: str, source: str) -> Outcome:
        """The organiser's decision on how many places a class (or the event) has."""
        require_aware(effective_at, field="effective_at")
        event = self._target_event(event_id)
        if class_id is not None:
            _target_class(event, class_id)
        if not 0 <= capacity <= MAX_CAPACITY:
            raise InvalidInputError(f"a capacity is a number of places ≥ 0 and ≤ {MAX_CAPACITY} "
                                    f"(got {capacity})")
        if self._desk_repeat(event_id, "capacity", effective_at, class_id=class_id,
                             capacity=capacity):
            return Outcome(DUPLICATE, f"{event_id} {class_id or 'total'} capacity {capacity} "
                                      "already decided at that time")
        event.change_capacity(class_id, capacity, reason, effective_at, self.clock(), actor, source)
        what = f"{event_id} {class_id or 'total'} capacity: {capacity}"
        return self._append(what, event)

    def grant_place(self, event_id: str, class_id: str, *, team: str, car: str, reference: str,
                    reason: str, effective_at: datetime, actor: str, source: str) -> Outcome:
        """A place granted by the selection committee (not earned through a route)."""
        require_aware(effective_at, field="effective_at")
        event = self._target_event(event_id)
        _target_class(event, class_id)
        if not team.strip() or not car.strip():
            raise InvalidInputError("a granted place names a team and a car")
        if reference in event.grants:
            return Outcome(DUPLICATE, f"{event_id}: place {reference} already granted")
        event.grant_place(class_id, team, car, reference, reason, effective_at, self.clock(),
                          actor, source)
        return self._append(f"{event_id} {class_id}: place granted to {team} #{car} ({reference})",
                            event)

    def rank_reserves(self, event_id: str, class_id: str, ranked: list[dict[str, str]], *,
                      reason: str, effective_at: datetime, actor: str, source: str) -> Outcome:
        """The ranked reserve list of a class; a later ranking replaces it."""
        require_aware(effective_at, field="effective_at")
        event = self._target_event(event_id)
        overall = event.definitions[-1].get("reserve_order") == OVERALL
        if overall != (class_id == OVERALL):
            raise InvalidInputError(
                f"{event_id} ranks its reserves {'overall' if overall else 'per class'}: "
                + ("rank them with class 'overall', each reserve naming its class" if overall
                   else f"'{OVERALL}' is not one of its classes; rank each class's reserves"))
        for i, r in enumerate(ranked, start=1):
            if not str(r.get("team", "")).strip():
                raise InvalidInputError(f"reserve #{i}: name its team")
            _target_class(event, r["class"] if overall else class_id)
        if self._desk_repeat(event_id, "reserves", effective_at, class_id=class_id, ranked=ranked):
            return Outcome(DUPLICATE, f"{event_id} {class_id}: these reserves are already ranked")
        event.rank_reserves(class_id, ranked, reason, effective_at, self.clock(), actor, source)
        return self._append(f"{event_id} {class_id}: {len(ranked)} reserve(s) ranked", event)

    def _recorded_before(self, event_id: str, route: str, status: str, effective_at: datetime,
                         holder: dict[str, Any] | None) -> bool:
        """A resent decision (same status, time and holder) that is no longer the latest."""
        return any(t.value.status == status and t.effective_at == effective_at
                   and (holder is None or t.value.holder == holder)
                   for t in self.event_state(event_id).invitations.get((event_id, route), []))

    def _check_invitation_limit(self, event_id: str, route: str,
                                holder: dict[str, Any] | None, effective_at: datetime) -> None:
        """A competitor holds at most N invitations (the target event's rule, 2 by default)."""
        team = str((holder or {}).get("team") or "").strip()
        if not team:
            return
        view = self.entry_list(event_id, as_of=effective_at)
        held = sorted({ln["route"] for c in view["classes"] for ln in [*c["entries"], *c["pending"]]
                       if ln["basis"] == "invitation" and ln["route"] != route
                       and ln["team"].casefold().strip() == team.casefold()})
        limit = view["max_invitations"]
        if len(held) >= limit:
            raise InvalidInputError(
                f"refused: {team} already holds {len(held)} invitations ({', '.join(held)}); "
                f"a competitor holds at most {limit}", where=f"{event_id}/{route}")

    def _desk_repeat(self, event_id: str, kind: str, effective_at: datetime,
                     **values: Any) -> bool:
        """The same organiser's decision, at the same time, already recorded (a resend)."""
        return any(d.value.kind == kind and d.effective_at == effective_at
                   and all(d.value.values.get(k) == v for k, v in values.items())
                   for d in self.event_state(event_id).desk.get(event_id, []))

    def publish_entry_list(self, event_id: str, *, note: str, effective_at: datetime, actor: str,
                           source: str) -> Outcome:
        """Publishing freezes nothing: the version is the list computed at its effective time
        with what was recorded by its publication, reproducible forever after."""
        require_aware(effective_at, field="effective_at")
        event = self._target_event(event_id)
        version = event.publish_list(note, effective_at, self.clock(), actor, source)
        return self._append(f"{event_id} entry list version {version} published", event)

    def entry_list(self, event_id: str, *, as_of: datetime | None = None,
                   known_at: datetime | None = None, published: int | None = None) -> dict[str, Any]:
        a, k = self._times(as_of, known_at)
        return entry_list_view(self._event_answer(event_id), event_id, a, k, published=published)

    def entry_list_diff(self, event_id: str, before: int, after: int) -> dict[str, Any]:
        """What changed between two published versions of the entry list, and why."""
        return entry_list_diff(self._event_answer(event_id), event_id, before, after)


def _target_class(event: TargetEvent, class_id: str) -> None:
    classes = [c["id"] for c in event.definitions[-1].get("classes", [])]
    if class_id not in classes:
        raise UnknownClassError(f"{event.event_id} has no class '{class_id}' "
                                f"(classes: {', '.join(classes)})")
