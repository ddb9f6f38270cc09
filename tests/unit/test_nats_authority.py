"""The NATS permissions as data: derived from domain/authority.py, no overlap between what one
role may do and another's subjects, the shipped nats-server configuration current and free of
credentials. (The real server enforcing them: tests/e2e/test_nats_permissions.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.authority import KIND_ROLES, Role, kinds_of
from infra.cli.main import main
from infra.config import ServeConfig, nats_password, redact_url
from infra.nats_authority import (
    PRODUCING_ROLES,
    SERVICE,
    SHIPPED_CONFIG,
    USERS,
    Permissions,
    all_permissions,
    credential_env,
    inbox_prefix,
    ingest_subject,
    producer_inbox,
    render_config,
    role_of_subject,
    service_permissions,
    service_streams,
    subscriber_permissions,
)
from infra.nats_ingest import IngestTopology
from infra.nats_subjects import bucket_name, checkpoint_subject, state_subjects
from services.contracts import subject_for

PREFIXES = ["paddock", "t1", "acme.staging"]


def overlaps(a: str, b: str) -> bool:
    """Whether some subject matches both patterns (`*` one token, `>` one or more)."""
    ta, tb = a.split("."), b.split(".")
    for i, (x, y) in enumerate(zip(ta, tb, strict=False)):
        if x == ">" or y == ">":
            return True
        if x != y and "*" not in (x, y):
            return False
        if i == min(len(ta), len(tb)) - 1 and len(ta) != len(tb):
            return False
    return len(ta) == len(tb)


def test_overlaps() -> None:
    assert overlaps("a.>", "a.b.c") and overlaps("a.*.c", "a.b.>") and overlaps("a.b", "a.b")
    assert not overlaps("a.>", "a") and not overlaps("a.b", "a.c") and not overlaps("a.*", "a.b.c")
    assert not overlaps("_INBOX.p.timing.>", "_INBOX.p.steward.>")


def captured(prefix: str) -> list[str]:
    """Every subject a stream captures: publishing there writes."""
    return [IngestTopology(prefix=prefix).subjects, f"{prefix}.dlq.>", *state_subjects(prefix=prefix),
            f"$KV.{bucket_name(prefix=prefix)}.>", checkpoint_subject(prefix=prefix)]


def by_user(prefix: str) -> dict[str, Permissions]:
    return {p.user: p for p in all_permissions(prefix)}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_each_kind_is_published_by_its_role_alone(prefix: str) -> None:
    users = by_user(prefix)
    assert list(users) == list(USERS)
    for kind, role in KIND_ROLES.items():
        subject = ingest_subject(role, kind, prefix)
        assert subject == subject_for(kind, prefix)  # the producers' subject layout
        for sent in (subject, f"{subject}.aslms-2023-24"):
            allowed = [u for u, p in users.items() if any(overlaps(s, sent) for s in p.publish)]
            assert allowed == [role.value], sent
            assert role_of_subject(sent, prefix) is role


@pytest.mark.parametrize("prefix", PREFIXES)
def test_producers_publish_exactly_their_kinds_and_read_only_their_inbox(prefix: str) -> None:
    for role in PRODUCING_ROLES:
        p = by_user(prefix)[role.value]
        assert p.publish == tuple(s for k in kinds_of(role)  # with a partition key, or none
                                  for s in (f"{ingest_subject(role, k, prefix)}.*",
                                            ingest_subject(role, k, prefix)))
        assert p.subscribe == (f"_INBOX.{prefix}.{role}.>",)
        assert not p.allow_responses
    assert set(PRODUCING_ROLES) == set(KIND_ROLES.values())
    assert Role.SUBSCRIBER not in PRODUCING_ROLES


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_subscriber_publishes_nothing_a_stream_captures(prefix: str) -> None:
    p = subscriber_permissions(prefix)
    for pattern in p.publish:
        assert not [c for c in captured(prefix) if overlaps(pattern, c)], pattern
    bucket = bucket_name(prefix=prefix)
    assert p.publish == (f"{prefix}.query.>", f"$JS.API.STREAM.INFO.KV_{bucket}",
                         f"$JS.API.STREAM.MSG.GET.KV_{bucket}",
                         f"$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.>")
    for forbidden in ("PURGE", "DELETE", "CREATE", "UPDATE"):
        assert not [s for s in p.publish if forbidden in s]
    assert not p.allow_responses


@pytest.mark.parametrize("prefix", PREFIXES)
def test_only_the_service_answers_queries_and_no_one_reads_anothers_inbox(prefix: str) -> None:
    users = by_user(prefix)
    for subject in (f"{prefix}.query.standings", "$SRV.PING", f"{prefix}.ingest.timing.x"):
        readers = [u for u, p in users.items() if any(overlaps(s, subject) for s in p.subscribe)]
        assert readers == ([SERVICE] if "ingest" not in subject else []), subject
    for user, p in users.items():
        own = f"{inbox_prefix(user, prefix)}.>"
        assert own in p.subscribe
        for other in USERS:
            if other != user:
                theirs = f"{inbox_prefix(other, prefix)}.x.y"
                assert not any(overlaps(s, theirs) for s in p.subscribe), (user, other)


def test_the_service_manages_its_own_streams_and_never_deletes_or_purges() -> None:
    p = service_permissions("paddock")
    assert p.allow_responses  # query replies, to whoever asked
    api = [s for s in p.publish if s.startswith("$JS.API.")]
    for stream in service_streams("paddock"):
        assert f"$JS.API.STREAM.CREATE.{stream}" in api
        for verb in ("DELETE", "PURGE", "MSG.DELETE"):
            assert not [s for s in api if overlaps(s, f"$JS.API.STREAM.{verb}.{stream}")]
    assert not [s for s in api if overlaps(s, "$JS.API.STREAM.CREATE.OTHER_STREAM")]
    assert not [s for s in p.publish if overlaps(s, "paddock.ingest.timing.pole.recorded")]
    assert f"{inbox_prefix(Role.SUBSCRIBER)}.>" not in p.publish  # answers it by allow_responses


def test_the_shipped_configuration_is_current() -> None:
    assert SHIPPED_CONFIG == Path(__file__).resolve().parents[2] / "infra" / "nats" / "paddock-server.conf"
    assert SHIPPED_CONFIG.read_text(encoding="utf-8") == render_config("paddock"), (
        "regenerate: paddock nats-config --out infra/nats/paddock-server.conf")


CREDENTIAL_KEYS = re.compile(r"^\s*(user|username|password|pass|token|nkey|auth_token)\s*[:=]\s*(\S+)",
                             re.MULTILINE)


def test_no_credential_literal_in_the_shipped_configuration() -> None:
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    values = CREDENTIAL_KEYS.findall(text)
    assert len(values) == 2 * len(USERS)
    expected = {f"${v}" for user in USERS for v in credential_env(user)}
    assert {value for _, value in values} == expected  # each a variable, one per user and key
    assert "no_auth_user" not in text and "accounts" not in text
    assert "store_dir: $PADDOCK_NATS_STORE_DIR" in text


def test_a_producer_inbox_only_when_one_role_sends_everything() -> None:
    classification = subject_for("classification.published", "p")
    pole = subject_for("pole.recorded", "p")
    assert producer_inbox([classification, pole, classification], "p") == "_INBOX.p.timing"
    assert producer_inbox([classification, subject_for("penalty.imposed", "p")], "p") is None
    assert producer_inbox(["p.standings.x"], "p") is None
    assert producer_inbox([], "p") is None
    assert role_of_subject("p.ingest.steward.pole.recorded", "p") is None


def test_render_for_another_prefix_and_a_store_dir() -> None:
    text = render_config("t1", store_dir="/var/lib/nats")
    assert 'store_dir: "/var/lib/nats"' in text
    assert '"t1.ingest.steward.penalty.imposed"' in text and "paddock." not in text
    assert '"$JS.API.STREAM.INFO.KV_T1_LATEST"' in text
    with pytest.raises(ValueError):
        render_config("bad prefix")


def test_the_nats_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "conf" / "nats.conf"
    assert main(["nats-config", "--prefix", "t1", "--out", str(out)]) == 1  # no conf/ (issue 9)
    out.parent.mkdir()
    assert main(["nats-config", "--prefix", "t1", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_config("t1")
    capsys.readouterr()
    assert main(["nats-config"]) == 0
    assert capsys.readouterr().out == render_config("paddock")
    assert main(["nats-config", "--prefix", "no way"]) == 1


def test_credentials_come_from_the_environment_or_a_file_and_are_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cretFromFile\n", encoding="utf-8")
    assert nats_password({"NATS_PASSWORD_FILE": str(secret)}) == "s3cretFromFile"
    assert nats_password({"NATS_PASSWORD": "fromEnv", "NATS_PASSWORD_FILE": str(secret)}) == "fromEnv"
    assert nats_password({}) is None
    with pytest.raises(Exception, match="NATS_PASSWORD_FILE"):
        nats_password({"NATS_PASSWORD_FILE": str(tmp_path / "missing")})
    config = ServeConfig(store_url="memory://", nats_user="svc", nats_password="hunter2")
    assert "hunter2" not in repr(config) and "svc" in repr(config)
    assert redact_url("nats://svc:hunter2@nats.example:4222") == "nats://svc:***@nats.example:4222"
    assert redact_url("postgresql://u:pw@db/x?schema=s") == "postgresql://u:***@db/x?schema=s"
    assert redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
