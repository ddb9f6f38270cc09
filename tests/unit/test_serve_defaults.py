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
