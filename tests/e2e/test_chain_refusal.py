"""A store whose hash chain was dropped, as a user meets it on the command line: every command
that opens the store refuses with one line and exit 3 (nothing re-chained, nothing recorded), and
`paddock audit verify` exits 1 naming `missing_chain`; on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from infra.chain import opened_chain
from tests.e2e.conftest import CliRunner
from tests.integration.test_audit_verify import flip_a_byte, tamper

POLE = ("pole", "--championship", "aslms-2023-24", "--round", "1", "--class", "GT", "--car", "91",
        "--effective-at", "2023-12-03T00:00:00Z")


@pytest.mark.slow(8)
def test_a_dropped_chain_table_refuses_every_command_and_fails_verify(
        paddock: CliRunner, store_url: str) -> None:
    assert paddock("demo", "--json", store_url=store_url).code == 0
    with tamper(store_url) as sql:
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", flip_a_byte(bytes(sql.event(4)[4])), 4)
        sql.run("DROP TABLE {chain}")
        (head,) = sql.run("SELECT MAX({id}) FROM {events}")[0]
    for command in (("standings", "aslms-2023-24"), POLE):
        refused = paddock(*command, store_url=store_url)
        assert refused.code == 3, (command, refused.err)
        assert refused.err.count("\n") == 1 and "Traceback" not in refused.err
        assert "no hash chain" in refused.err and "paddock audit verify" in refused.err
    with tamper(store_url) as sql:
        assert sql.run("SELECT MAX({id}) FROM {events}") == [(head,)]  # nothing recorded
    verdict = paddock("audit", "verify", store_url=store_url)
    assert verdict.code == 1, verdict.err
    assert verdict.out.startswith("BROKEN at position 1 (missing_chain)")
    assert "signatures: all" in verdict.out  # read without creating (or being refused)
    machine = paddock("audit", "verify", "--json", store_url=store_url).json()
    assert machine["status"] == "broken" and machine["first"]["kind"] == "missing_chain"
    with opened_chain(store_url) as chain:
        assert chain.missing_tables() == [chain.chain_table_name]  # not re-created
