"""Publication statuses of a race classification."""

PROVISIONAL = "provisional"
OFFICIAL = "official"
STATUSES = (PROVISIONAL, OFFICIAL)
