"""`paddock audit verify` and `paddock audit checkpoint`: the log's hash chain, for stewards.

Exit codes: 0 the chain (and every checkpoint given) holds; 1 a broken link, the first one
named; 2 nothing could be verified (memory:// store, no chain yet, unreadable checkpoint file);
3 the store refused (as every command).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.bounds import MAX_LOG_POSITION, printable
from infra.cli.context import store_url
from infra.cli.output import destination, write_atomically
from infra.cli.render import as_json, table
from infra.secrets import mask
from infra.store_check import check_store
from projections.canonical import iso_utc
from services.audit_chain import (
    Checkpoint,
    CheckpointFormatError,
    Verdict,
    checkpoint_from_json,
)

if TYPE_CHECKING:  # the log's backends load when a command opens it, not for `paddock --help`
    from services.signature_audit import SignatureAudit

INTACT, BROKEN, UNVERIFIABLE = 0, 1, 2


def add_parsers(audit: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    ve = audit.add_parser("verify", parents=[common],
                          help="walk the log's hash chain; name the first broken link")
    ve.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                    help="a checkpoint kept earlier (JSON, as exported or published on NATS; "
                         "a list or JSON lines too); repeatable")
    ve.set_defaults(handler="audit_verify")
    cp = audit.add_parser("checkpoint", parents=[common],
                          help="export the digest of the log's history (verified first)")
    cp.add_argument("--out", metavar="FILE", help="write it there (default: print it)")
    cp.add_argument("--position", type=int, metavar="N",
                    help="the history up to log position N (default: the head)")
    cp.set_defaults(handler="audit_checkpoint")


def load_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a file: one JSON object, a JSON list, or one object per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CheckpointFormatError(f"--checkpoint {path}: cannot read it ({error.strerror})") from None
    try:
        documents: list[tuple[str, Any]] = [(str(path), json.loads(text))]
    except json.JSONDecodeError:
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    documents.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as error:
                    raise CheckpointFormatError(
                        f"--checkpoint {path}: line {number} is not JSON ({error.msg})") from None
    checkpoints = []
    for source, data in documents:
        items = data if isinstance(data, list) else [data]
        checkpoints += [checkpoint_from_json(item, source) for item in items]
    if not checkpoints:
        raise CheckpointFormatError(f"--checkpoint {path}: holds no checkpoint")
    return checkpoints


def _cannot(args: argparse.Namespace, reason: str) -> int:
    if args.json:
        print(as_json({"status": "unverifiable", "reason": mask(reason)}))
    print(f"error: {printable(mask(reason))}", file=sys.stderr)
    return UNVERIFIABLE


def audit_verify(args: argparse.Namespace) -> int:
    from infra.chain import NoChainError, opened_chain, store_identity
    from services.signature_audit import SignatureAudit

    url = store_url(args)
    check_store(url, create=True)  # openable (a log, if any, is looked for below); creates nothing
    try:
        checkpoints = [c for file in args.checkpoint for c in load_checkpoints(Path(file))]
        with opened_chain(url) as chain:
            verdict = chain.walk_chain(checkpoints)
    except (NoChainError, CheckpointFormatError) as error:
        return _cannot(args, str(error))
    signatures = _signatures(url)
    intact = verdict.ok and isinstance(signatures, SignatureAudit) and signatures.ok
    if args.json:  # "status" is the chain's; "intact" also needs every signature to verify
        print(as_json({"store": store_identity(url), "intact": intact, **verdict.to_json(),
                       "signatures": signatures_json(signatures)}))
    else:
        print(verdict_text(verdict))
        print(signatures_text(signatures))
    return INTACT if intact else BROKEN


def _signatures(url: str) -> SignatureAudit | str:
    """Every kept signature re-checked against its decision as recorded (or why it could not
    be: an unreadable event is already a chain finding). Opened to read: creates nothing, and
    so is not refused where the chain is missing."""
    from eventsourcing.persistence import PersistenceError

    from infra.store import store_settings
    from services.ledger import Ledger
    from services.signature_audit import audit_signatures

    try:
        reader = Ledger(env={**store_settings(url), "CREATE_TABLE": "no"})
        return audit_signatures(reader.read_events(0))
    except (PersistenceError, ValueError, KeyError, TypeError) as error:
        return f"not checked: the log could not be read as events ({type(error).__name__}: {error})"


def signatures_json(audit: SignatureAudit | str) -> dict[str, Any]:
    if isinstance(audit, str):
        return {"ok": False, "error": audit}
    return {"ok": audit.ok, "checked": audit.checked,
            "findings": [{"position": f.position, "event": f.what, "problem": f.problem}
                         for f in audit.findings]}


def signatures_text(audit: SignatureAudit | str) -> str:
    if isinstance(audit, str):
        return f"signatures {audit}"
    if audit.ok:
        return f"signatures: all {audit.checked} signed decisions verify against their keys"
    first = audit.findings[0]
    return (f"signatures BROKEN at position {first.position} ({first.what}): {first.problem}; "
            f"{len(audit.findings)} of {audit.checked} signed decisions fail")


def verdict_text(verdict: Verdict) -> str:
    """One line when intact; the first broken link, then every finding in a table."""
    positions = ", ".join(str(c.position) for c in verdict.checkpoints)
    kept = (f"; {len(verdict.checkpoints)} checkpoint(s) match (positions {positions})"
            if verdict.checkpoints else "")
    if verdict.first is None:
        return (f"ok, {verdict.events} events, head position {verdict.head_position}, "
                f"head digest {verdict.head_digest}{kept}")
    first = verdict.first
    rows = [[f.position, f.kind, f.explanation] for f in verdict.findings]
    return "\n".join([
        f"BROKEN at position {first.position} ({first.kind}): {first.explanation}",
        (f"{verdict.events} event rows, head position {verdict.head_position}; "
         f"{len(verdict.findings)} finding(s):"),
        "",
        table(["Position", "Kind", "Explanation"], rows, right=[0]),
    ])


def audit_checkpoint(args: argparse.Namespace) -> int:
    from infra.chain import NoChainError, opened_chain, store_identity

    url = store_url(args)
    check_store(url, create=True)  # as in audit_verify
    if args.out:
        destination(args.out)  # refused before any work
    if args.position is not None and not 1 <= args.position <= MAX_LOG_POSITION:
        return _cannot(args, f"--position {args.position}: log positions run from 1 to {MAX_LOG_POSITION}")
    try:
        with opened_chain(url) as chain:
            verdict = chain.walk_chain(until=args.position)
    except NoChainError as error:
        return _cannot(args, str(error))
    if not verdict.ok:
        print(verdict_text(verdict), file=sys.stderr)
        print("error: no checkpoint taken: it would vouch for the broken history above",
              file=sys.stderr)
        return BROKEN
    if verdict.events == 0 or (args.position is not None and verdict.head_position != args.position):
        where = f"at position {args.position}" if args.position is not None else "in the log"
        return _cannot(args, f"no event {where} (store '{store_identity(url)}', last event "
                             f"position {verdict.head_position}): nothing to checkpoint")
    checkpoint = Checkpoint(verdict.head_position, verdict.head_digest,
                            taken_at=iso_utc(datetime.now(UTC)), store=store_identity(url))
    body = json.dumps(checkpoint.to_json(), indent=2, sort_keys=True)
    if not args.out:
        print(body)
        return INTACT
    write_atomically(destination(args.out), body + "\n")
    print(body if args.json else f"checkpoint of position {checkpoint.position} "
                                 f"(digest {checkpoint.digest}) written to {args.out}")
    return INTACT


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "audit_verify": audit_verify,
    "audit_checkpoint": audit_checkpoint,
}
