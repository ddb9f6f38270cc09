"""Who may record what: the roles of the people and systems that feed the ledger.

Rules are data: each kind of fact belongs to exactly one role, and the roles whose facts are
decisions (stewards, series officials) must sign them. The NATS server enforces the same map
with subject permissions (`<prefix>.ingest.<role>.<kind>`); the service checks it again.
"""

from __future__ import annotations

from enum import StrEnum

from domain.errors import InvalidInputError, PaddockError


class Role(StrEnum):
    TIMING = "timing"          # timing systems: classifications, poles
    STEWARD = "steward"        # stewards: penalties, their amendment and rescinding
    OFFICIAL = "official"      # series officials: award decisions, championship rules, ties
    ORGANISER = "organiser"    # the organiser of a target event: invitations, entry list
    SUBSCRIBER = "subscriber"  # downstream readers: nothing to record


KIND_ROLES: dict[str, Role] = {
    "classification.published": Role.TIMING,
    "classification.corrected": Role.TIMING,
    "classification.official": Role.TIMING,
    "pole.recorded": Role.TIMING,
    "penalty.imposed": Role.STEWARD,
    "penalty.amended": Role.STEWARD,
    "penalty.rescinded": Role.STEWARD,
    "award.decided": Role.OFFICIAL,
    "season.registered": Role.OFFICIAL,
    "tie.resolved": Role.OFFICIAL,
    "invitation.transition": Role.ORGANISER,
}

SIGNING_ROLES = frozenset({Role.STEWARD, Role.OFFICIAL})
"""Roles whose facts are personal decisions: signed by the deciding person's key."""


class ForbiddenError(PaddockError):
    """A fact offered by a role that may not record it."""


def role_of(kind: str) -> Role:
    try:
        return KIND_ROLES[kind]
    except KeyError:
        raise InvalidInputError(f"unknown kind of fact '{kind}' "
                                f"(known: {', '.join(sorted(KIND_ROLES))})") from None


def kinds_of(role: Role) -> list[str]:
    return sorted(k for k, r in KIND_ROLES.items() if r is role)


def check_role(kind: str, role: Role | str) -> Role:
    """The role itself if it may record `kind`; ForbiddenError naming who may otherwise."""
    owner = role_of(kind)
    if str(role) != owner.value:
        raise ForbiddenError(
            f"a {role} may not record '{kind}': only a {owner.value} may "
            f"({owner.value} facts: {', '.join(kinds_of(owner))})"
        )
    return owner


def needs_signature(kind: str) -> bool:
    return role_of(kind) in SIGNING_ROLES
