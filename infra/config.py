"""Service configuration from flags and the environment (flags win)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from domain.bounds import MAX_WAIT_SECONDS
from domain.errors import InvalidInputError

ROLES = ("ingest", "projections", "publisher", "queries", "checkpoints")
MAX_INGEST_WORKERS = 64
CHECKPOINT_EVERY = 60.0  # seconds between checkpoint publications (when the log grew)
FOLD_MB_ENV = "PADDOCK_FOLD_MB"
MAX_FOLD_MB = 1_000_000
PARTITION_GROUPS_ENV = "PADDOCK_PARTITION_GROUPS"
PARTITION_GROUPS = 16
MAX_PARTITION_GROUPS = 1024
LEASE_SECONDS_ENV = "PADDOCK_LEASE_SECONDS"
LEASE_SECONDS = 2.0
"""The lease period: seconds between two settlements of a worker's claims on partition groups
(infra/workers/group_claims.py), projection and ingest workers alike."""
INGEST_CLAIM_EVERY_ENV = "PADDOCK_INGEST_CLAIM_EVERY"  # the ingest workers' own lease period


def _whole(text: str) -> int:
    """A setting's whole number; 0 (below every bound, so refused by its caller) when not one."""
    try:
        return int(text)
    except ValueError:
        return 0


def fold_megabytes(env: Mapping[str, str], default: int) -> int:
    """The memory a Ledger may keep in partition folds (PADDOCK_FOLD_MB), in megabytes: beyond
    it the least recently used are dropped (and read again when asked for)."""
    text = env.get(FOLD_MB_ENV)
    if text is None or not text.strip():
        return default
    value = _whole(text)
    if not 1 <= value <= MAX_FOLD_MB:
        raise InvalidInputError(f"{FOLD_MB_ENV}={text[:40]!r}: give a whole number of megabytes "
                                f"from 1 to {MAX_FOLD_MB:,} (default {default:,})")
    return value


@dataclass(frozen=True)
class ServeConfig:
    store_url: str
    nats_url: str = "nats://127.0.0.1:4222"
    roles: tuple[str, ...] = ROLES
    prefix: str = "paddock"
    ingest_workers: int = 1
    grace_seconds: float = 10.0
    nats_user: str | None = None
    nats_password: str | None = field(default=None, repr=False)  # never printed
    nats_creds: str | None = None
    nats_inbox_prefix: str | None = None  # the user's own inbox (infra/nats_authority.py)
    json_logs: bool | None = None
    checkpoint_every: float = CHECKPOINT_EVERY
    partition_groups: int = PARTITION_GROUPS
    lease_seconds: float = LEASE_SECONDS
    ingest_claim_every: float = LEASE_SECONDS  # the ingest workers' lease period


PROJECTION_PARTITIONS = 128
MAX_PROJECTION_PARTITIONS = 1_000_000


def projection_partitions(env: Mapping[str, str] | None = None) -> int:
    """How many partition folds a projection worker keeps in memory (least recently used
    evicted, folded again from the log when needed): PADDOCK_PROJECTION_PARTITIONS, default
    128 (about 1 MB each for a six-round, 40-car season: bench/catchup_bench.py)."""
    text = (os.environ if env is None else env).get("PADDOCK_PROJECTION_PARTITIONS")
    if text is None:
        return PROJECTION_PARTITIONS
    value = _whole(text)
    if not 1 <= value <= MAX_PROJECTION_PARTITIONS:
        raise InvalidInputError(f"PADDOCK_PROJECTION_PARTITIONS={text!r}: give a whole number "
                                f"of partitions from 1 to {MAX_PROJECTION_PARTITIONS:,}")
    return value


PROJECTION_WINDOW = 2000
MAX_PROJECTION_WINDOW = 1_000_000


def projection_window(env: Mapping[str, str] | None = None) -> int:
    """How many events a projection worker that is behind the head folds before it computes the
    views they changed (PADDOCK_PROJECTION_WINDOW, default 2,000): a view changed by many
    events of the window is computed once, at its last change, instead of once per page, and
    the views and tracked positions are written in one transaction per window. A page that
    reaches the head is computed at once, so live latency does not depend on it; it bounds the
    events held in memory and the work lost to a crash (docs/SERVICE.md)."""
    text = (os.environ if env is None else env).get("PADDOCK_PROJECTION_WINDOW")
    if text is None or not text.strip():
        return PROJECTION_WINDOW
    value = _whole(text)
    if not 1 <= value <= MAX_PROJECTION_WINDOW:
        raise InvalidInputError(f"PADDOCK_PROJECTION_WINDOW={text[:40]!r}: give a whole number "
                                f"of events from 1 to {MAX_PROJECTION_WINDOW:,} "
                                f"(default {PROJECTION_WINDOW:,})")
    return value


def partition_groups(env: Mapping[str, str] | None = None) -> int:
    """How many partition groups the projection workers of a deployment split between them
    (PADDOCK_PARTITION_GROUPS, default 16): the same in every process of the deployment, since
    the views record their tracking per group (infra/views/tracking.py)."""
    text = (os.environ if env is None else env).get(PARTITION_GROUPS_ENV)
    if text is None or not text.strip():
        return PARTITION_GROUPS
    value = _whole(text)
    if not 1 <= value <= MAX_PARTITION_GROUPS:
        raise InvalidInputError(
            f"{PARTITION_GROUPS_ENV}={text[:40]!r}: give a whole number of partition groups from "
            f"1 to {MAX_PARTITION_GROUPS} (default {PARTITION_GROUPS}), the same in every process "
            "of the deployment; more groups than workers lets the work be shared evenly")
    return value


def lease_seconds(env: Mapping[str, str] | None = None) -> float:
    """The lease period: how often a worker settles its claim on partition groups
    (PADDOCK_LEASE_SECONDS, default 2): a dead worker's groups are taken over within about
    that, twice that when a live one must first give a group up (infra/workers/group_claims.py).
    Ingest workers may have their own (--ingest-claim-every, PADDOCK_INGEST_CLAIM_EVERY)."""
    text = (os.environ if env is None else env).get(LEASE_SECONDS_ENV)
    return _seconds(None, text, LEASE_SECONDS, LEASE_SECONDS_ENV)


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise InvalidInputError(
            f"--roles: {', '.join(unknown) or 'none given'} (choose from {', '.join(ROLES)})"
        )
    return roles


def serve_config(*, store_url: str, nats_url: str | None, roles: str | None, prefix: str | None,
                 ingest_workers: int | None, grace: float | None,
                 checkpoint_every: float | None = None,
                 ingest_claim_every: float | None = None) -> ServeConfig:
    env = os.environ
    every = _seconds(checkpoint_every, env.get("PADDOCK_CHECKPOINT_EVERY"), CHECKPOINT_EVERY,
                     "--checkpoint-every (PADDOCK_CHECKPOINT_EVERY)")
    period = lease_seconds(env)
    claim_every = _seconds(ingest_claim_every, env.get(INGEST_CLAIM_EVERY_ENV), period,
                           f"--ingest-claim-every ({INGEST_CLAIM_EVERY_ENV})")
    workers = ingest_workers or int(env.get("PADDOCK_INGEST_WORKERS", "1"))
    grace_seconds = grace if grace is not None else float(env.get("PADDOCK_GRACE_SECONDS", "10"))
    if not 1 <= workers <= MAX_INGEST_WORKERS or not 0 < grace_seconds <= MAX_WAIT_SECONDS:
        raise InvalidInputError(f"--ingest-workers must be 1 to {MAX_INGEST_WORKERS} and "
                                f"--grace above 0 to {MAX_WAIT_SECONDS} seconds")
    return ServeConfig(
        store_url=store_url,
        nats_url=nats_url or env.get("NATS_URL", "nats://127.0.0.1:4222"),
        roles=parse_roles(roles or env.get("PADDOCK_ROLES", ",".join(ROLES))),
        prefix=prefix or env.get("PADDOCK_PREFIX", "paddock"),
        ingest_workers=workers,
        grace_seconds=grace_seconds,
        nats_user=env.get("NATS_USER"),
        nats_password=nats_password(env),
        nats_creds=env.get("NATS_CREDS"),
        nats_inbox_prefix=env.get("PADDOCK_NATS_INBOX_PREFIX"),
        checkpoint_every=every,
        partition_groups=partition_groups(env),
        lease_seconds=period,
        ingest_claim_every=claim_every,
    )


def _seconds(flag: float | None, env_value: str | None, default: float, name: str) -> float:
    """A positive number of seconds: the flag, else the environment, else the default."""
    if flag is not None:
        value = flag
    elif env_value:
        try:
            value = float(env_value)
        except ValueError:
            raise InvalidInputError(f"{name}: '{env_value}' is not a number of seconds") from None
    else:
        value = default
    if not 0 < value <= MAX_WAIT_SECONDS:
        raise InvalidInputError(f"{name}: give a number of seconds > 0 and ≤ {MAX_WAIT_SECONDS}, "
                                f"not {value}")
    return value


def nats_password(env: Mapping[str, str]) -> str | None:
    """$NATS_PASSWORD, else the first line of the file $NATS_PASSWORD_FILE names (a mounted
    secret): credentials come from the environment or files, never from flags or the repo."""
    if env.get("NATS_PASSWORD"):
        return env["NATS_PASSWORD"]
    path = env.get("NATS_PASSWORD_FILE")
    if not path:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidInputError(f"NATS_PASSWORD_FILE: cannot read {path} ({error.strerror})") from None
    return lines[0] if lines else ""


def redact_url(url: str) -> str:
    """The URL with any password in it replaced by `***`, for logs; also a malformed one (a
    bad port, a broken IPv6 address), which is exactly when an error quotes it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", url)
    if parts.password is None:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    netloc = f"{user_info.split(':', 1)[0]}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
