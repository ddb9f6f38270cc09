"""Domain errors. Each carries what a user needs to fix the input."""

from __future__ import annotations


class PaddockError(Exception):
    """Base of every error Paddock reports to a user."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InvalidInputError(PaddockError):
    """A value given by a producer or a user is malformed."""


class UnknownChampionshipError(PaddockError):
    pass


class UnknownRoundError(PaddockError):
    pass


class UnknownCarError(PaddockError):
    pass


class UnknownClassError(PaddockError):
    pass


class UnknownTargetEventError(PaddockError):
    pass


class UnknownDecisionError(PaddockError):
    pass


class ClassificationMissingError(PaddockError):
    """A decision or status change needs a classification that is not in the log."""


class ConflictingFactError(PaddockError):
    """The same natural key was already recorded with different content."""


class InvalidTransitionError(PaddockError):
    """An invitation cannot move from its current status to the requested one."""


class TimeOrderError(PaddockError):
    """A fact claims to take effect before something it depends on."""


class SignatureError(PaddockError):
    """A decision's signature is missing, malformed, by an unknown key or does not match."""
