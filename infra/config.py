"""Service configuration from flags and the environment (flags win)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from domain.errors import InvalidInputError

ROLES = ("ingest", "projections", "publisher", "queries")


@dataclass(frozen=True)
class ServeConfig:
    store_url: str
    nats_url: str = "nats://127.0.0.1:4222"
    roles: tuple[str, ...] = ROLES
    prefix: str = "paddock"
    ingest_workers: int = 1
    grace_seconds: float = 10.0
    nats_user: str | None = None
    nats_password: str | None = None
    nats_creds: str | None = None
    json_logs: bool | None = None


def parse_roles(text: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise InvalidInputError(
            f"--roles: {', '.join(unknown) or 'none given'} (choose from {', '.join(ROLES)})"
        )
    return roles


def serve_config(*, store_url: str, nats_url: str | None, roles: str | None, prefix: str | None,
                 ingest_workers: int | None, grace: float | None) -> ServeConfig:
    env = os.environ
    workers = ingest_workers or int(env.get("PADDOCK_INGEST_WORKERS", "1"))
    grace_seconds = grace if grace is not None else float(env.get("PADDOCK_GRACE_SECONDS", "10"))
    if workers < 1 or grace_seconds <= 0:
        raise InvalidInputError("--ingest-workers must be ≥ 1 and --grace > 0")
    return ServeConfig(
        store_url=store_url,
        nats_url=nats_url or env.get("NATS_URL", "nats://127.0.0.1:4222"),
        roles=parse_roles(roles or env.get("PADDOCK_ROLES", ",".join(ROLES))),
        prefix=prefix or env.get("PADDOCK_PREFIX", "paddock"),
        ingest_workers=workers,
        grace_seconds=grace_seconds,
        nats_user=env.get("NATS_USER"),
        nats_password=env.get("NATS_PASSWORD"),
        nats_creds=env.get("NATS_CREDS"),
    )
