"""A signed decision cannot be altered in the database without `audit verify` noticing, even by
someone who also recomputes the hash chain: its kept signature no longer matches the decision
as recorded. On SQLite and PostgreSQL, tampered directly with SQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from domain.aggregates.stewards_decision import StewardsDecision
from infra.bootstrap import open_ledger
from services.ledger import Ledger
from services.signature_audit import audit_signatures

from .test_audit_verify import tamper, verify


def first_penalty(ledger: Ledger) -> int:
    return next(p for p, e in ledger.read_events(0)
                if isinstance(e, StewardsDecision.PenaltyImposed))


def test_every_signed_decision_of_the_demo_verifies(demo: Ledger, store_url: str) -> None:
    audit = audit_signatures(open_ledger(store_url).read_events(0))
    assert audit.ok and audit.checked == 5  # two awards, three R5 penalties


def test_an_altered_decision_fails_its_signature_even_when_the_chain_is_rewritten(
        demo: Ledger, store_url: str) -> None:
    position = first_penalty(demo)
    with tamper(store_url) as sql:
        state = bytes(sql.event(position)[4])
        assert state.count(b'"reason":"') == 1
        forged = state.replace(b'"reason":"', b'"reason":"on appeal: ')  # words put in their mouth
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?", forged, position)
        sql.rechain_from(position)
    assert verify(store_url).ok  # a consistent rewrite: the chain alone cannot tell
    audit = audit_signatures(open_ledger(store_url).read_events(0))
    assert [f.position for f in audit.findings] == [position]
    assert "does not match this decision" in audit.findings[0].problem


def test_audit_verify_reports_the_forged_decision(demo: Ledger, store_url: str) -> None:
    """The command a steward runs: exit 1, the position of the decision whose signature fails."""
    position = first_penalty(demo)
    with tamper(store_url) as sql:
        state = bytes(sql.event(position)[4])
        sql.run("UPDATE {events} SET state = ? WHERE {id} = ?",
                state.replace(b'"reason":"', b'"reason":"on appeal: '), position)
        sql.rechain_from(position)
    paddock = str(Path(sys.executable).with_name("paddock"))
    run = subprocess.run([paddock, "audit", "verify", "--store", store_url, "--json"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["status"] == "ok" and report["intact"] is False  # the rewritten chain holds...
    assert [f["position"] for f in report["signatures"]["findings"]] == [position]  # ...not the signature
    text = subprocess.run([paddock, "audit", "verify", "--store", store_url], capture_output=True,
                          text=True, timeout=60, check=False)
    assert f"signatures BROKEN at position {position}" in text.stdout
