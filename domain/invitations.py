"""The invitation lifecycle: computed states before the organiser acts, recorded ones after."""

from __future__ import annotations

from domain.errors import InvalidTransitionError

# Computed from the ledger, never recorded.
PENDING = "pending"          # no holder yet (source unknown or nothing scored)
PROVISIONAL = "provisional"  # holder from standings still in progress
EARNED = "earned"            # season complete or award granted; awaiting the organiser

# Recorded by the organiser.
CONFIRMED = "confirmed"
ACCEPTED = "accepted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
REALLOCATED = "reallocated"
REDEEMED = "redeemed"

RECORDED_STATUSES = (CONFIRMED, ACCEPTED, DECLINED, WITHDRAWN, REALLOCATED, REDEEMED)

_ALLOWED: dict[str | None, tuple[str, ...]] = {
    None: (CONFIRMED,),
    CONFIRMED: (ACCEPTED, DECLINED, WITHDRAWN, REALLOCATED),
    ACCEPTED: (REDEEMED, WITHDRAWN, REALLOCATED),
    DECLINED: (REALLOCATED,),
    WITHDRAWN: (REALLOCATED,),
    REALLOCATED: (ACCEPTED, DECLINED, WITHDRAWN, REDEEMED),
    REDEEMED: (),
}


def check_transition(current: str | None, new: str, *, where: str) -> None:
    """Raise unless the organiser may move an invitation from `current` to `new`."""
    if new not in RECORDED_STATUSES:
        raise InvalidTransitionError(
            f"'{new}' is not an invitation status an organiser records "
            f"(one of: {', '.join(RECORDED_STATUSES)})",
            where=where,
        )
    allowed = _ALLOWED[current]
    if new not in allowed:
        shown = current or "not yet confirmed"
        options = ", ".join(allowed) or "none: it is final"
        raise InvalidTransitionError(
            f"cannot go from {shown} to {new} (allowed next: {options})", where=where
        )


def needs_new_holder(status: str) -> bool:
    return status == REALLOCATED
