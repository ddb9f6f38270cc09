"""Issue 9 item 5, in-process: many processes' worth of store opens at the same moment on one
fresh PostgreSQL schema. Creating (or finding) the tables must never fail on a conflict."""

from __future__ import annotations

import threading

import pytest

from infra.store import store_settings
from services.ledger import Ledger

pytestmark = pytest.mark.postgres
OPENERS, ROUNDS = 8, 6


def test_simultaneous_opens_of_a_fresh_schema_all_succeed(postgres_store: str) -> None:
    barrier, errors = threading.Barrier(OPENERS), list[BaseException]()
    # one connection per opener: the shared server's connection limit is not what is tested
    env = {**store_settings(postgres_store), "POSTGRES_POOL_SIZE": "1",
           "POSTGRES_MAX_OVERFLOW": "0"}

    def open_again_and_again() -> None:
        for _ in range(ROUNDS):
            barrier.wait()
            try:
                ledger = Ledger(env=env)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            else:
                ledger.close()

    threads = [threading.Thread(target=open_again_and_again) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} of {OPENERS * ROUNDS} opens failed: {errors[:3]}"
