"""`paddock serve` without --roles runs every role, the checkpoint publisher included: the only
external evidence against a cut or consistently rewritten log (issue 9 item 6)."""

from __future__ import annotations

import pytest

from infra.config import serve_config


def test_serve_publishes_checkpoints_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PADDOCK_ROLES", raising=False)
    config = serve_config(store_url="sqlite:///paddock.db", nats_url=None, roles=None, prefix=None,
                          ingest_workers=None, grace=None)
    assert "checkpoints" in config.roles
    assert config.checkpoint_every == 60.0


@pytest.mark.parametrize(("env", "flag", "expected"), [
    ({}, None, (2.0, 2.0)),
    ({"PADDOCK_LEASE_SECONDS": "0.5"}, None, (0.5, 0.5)),
    ({"PADDOCK_LEASE_SECONDS": "0.5", "PADDOCK_INGEST_CLAIM_EVERY": "3"}, None, (0.5, 3.0)),
    ({"PADDOCK_INGEST_CLAIM_EVERY": "3"}, 1.5, (2.0, 1.5)),
])
def test_one_lease_period_with_an_ingest_override(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flag: float | None,
        expected: tuple[float, float]) -> None:
    """PADDOCK_LEASE_SECONDS is every worker's lease period; ingest workers take their own from
    --ingest-claim-every, else PADDOCK_INGEST_CLAIM_EVERY, else the lease period."""
    for name in ("PADDOCK_LEASE_SECONDS", "PADDOCK_INGEST_CLAIM_EVERY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = serve_config(store_url="sqlite:///paddock.db", nats_url=None, roles=None, prefix=None,
                          ingest_workers=None, grace=None, ingest_claim_every=flag)
    assert (config.lease_seconds, config.ingest_claim_every) == expected


# -- the partition cache's bound (PADDOCK_FOLD_MB) -----------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (None, 7), ("", 7), ("  ", 7), ("1", 1), ("250", 250), ("1000000", 1_000_000),
])
def test_the_fold_bound_comes_from_the_environment(text: str | None, expected: int) -> None:
    from infra.config import FOLD_MB_ENV, fold_megabytes

    env = {} if text is None else {FOLD_MB_ENV: text}
    assert fold_megabytes(env, 7) == expected


@pytest.mark.parametrize("text", ["0", "-5", "many", "1.5", "1000001", "9" * 200])
def test_a_bad_fold_bound_is_named_with_what_to_give(text: str) -> None:
    from domain.errors import InvalidInputError
    from infra.config import FOLD_MB_ENV, fold_megabytes

    with pytest.raises(InvalidInputError, match=r"PADDOCK_FOLD_MB=.*whole number of megabytes") as caught:
        fold_megabytes({FOLD_MB_ENV: text}, 7)
    assert len(str(caught.value)) < 200
