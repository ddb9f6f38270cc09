"""Hash-chained application recorders (SQLite, PostgreSQL) and how to read their chain.

`infra.store` points the eventsourcing setting APPLICATION_RECORDER_TOPIC at the recorders in
`infra.chain.sqlite` / `infra.chain.postgres`. Each stores, in the same transaction as the
events it appends, one row per event in a side table `<events table>_chain`
(`position, previous, digest`), computed by `services.audit_chain`. Position 0 of that table is
an anchor written when the table is created: if events already existed then (a log written
before the chain), they are chained at that moment.

The pure walk lives in `services.audit_chain`; this package only reads rows for it.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, PersistenceError
from eventsourcing.utils import Environment

from infra.store import store_settings
from services.audit_chain import GENESIS, Checkpoint, Link, Verdict, extend, merge, walk

RECORDER_TOPIC = "APPLICATION_RECORDER_TOPIC"
CHAIN_SUFFIX = "_chain"
PAGE = 1000


class ChainConflictError(PersistenceError):
    """An append found its log position already chained: the log was altered outside Paddock
    (e.g. its last event row deleted, so SQLite hands out that position again)."""


class NoChainError(Exception):
    """This store keeps no hash chain (memory://), or not yet (no chain table)."""


def next_links(head: tuple[int, str] | None, contents: Sequence[tuple[int, bytes]],
               where: str) -> list[tuple[int, str, str]]:
    """The (position, previous, digest) rows that chain `contents` after the chain head; refuses
    positions already chained (event rows deleted outside Paddock and their ids reused)."""
    last, previous = head if head else (0, GENESIS)
    first = min(position for position, _ in contents)
    if last >= first:
        raise ChainConflictError(
            f"{where}: position {first} is already chained (chain head {last}): the log was "
            "altered outside Paddock; nothing was recorded; run `paddock audit verify`")
    return [(link.position, link.previous, link.digest) for link in extend(previous, contents)]


def originator_text(value: object, *, uuid_ids: bool) -> str:
    """The originator id as hashed: a UUID in its hyphenated form, else the text as stored.
    A value that should be a UUID but is not (tampered) is hashed as it is, and so mismatches."""
    if isinstance(value, UUID):
        return str(value)
    text = value.decode() if isinstance(value, bytes) else str(value)
    if uuid_ids:
        try:
            return str(UUID(text))
        except ValueError:
            return text
    return text


def as_bytes(value: object) -> bytes:
    """A state column as bytes, whatever SQL left in it (NULL, text, bytes)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


class ChainRecorder:
    """What the chained recorders add to eventsourcing's: reading their chain back."""

    chain_table_name: str
    events_table_name: str

    @abstractmethod
    def _chain_rows(self, after: int, until: int | None
                    ) -> AbstractContextManager[tuple[Iterable[tuple[int, bytes]], Iterable[Link]]]:
        """Event rows (position, canonical content) and chain rows after `after` (up to `until`),
        both ascending, read from one snapshot of the store."""

    @abstractmethod
    def missing_tables(self) -> list[str]:
        """Tables this recorder needs that the store does not have."""

    def walk_chain(self, checkpoints: Sequence[Checkpoint] = (), *, after: int = 0,
                   previous: str = GENESIS, until: int | None = None) -> Verdict:
        """Verify the chain after position `after` (whose digest is `previous`), up to `until`."""
        with self._chain_rows(after, until) as (events, links):
            return walk(merge(events, links), checkpoints, after=after, previous=previous)


def chain_of(recorder: object) -> ChainRecorder | None:
    """The recorder as a chain recorder, or None (the in-memory store)."""
    return recorder if isinstance(recorder, ChainRecorder) else None


def store_identity(store_url: str) -> str:
    """The store as a checkpoint names it: the URL without password; a SQLite path made absolute."""
    parts = urlsplit(store_url)
    if parts.scheme == "sqlite":
        return f"sqlite:///{Path(store_settings(store_url)['SQLITE_DBNAME']).resolve()}"
    if parts.password is not None:
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" if parts.username else host
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=netloc))
    return store_url


@contextmanager
def opened_chain(store_url: str) -> Iterator[ChainRecorder]:
    """The chain of a store, opened to be read: creates no table and no file (a verifier must
    not change what it verifies). Raises NoChainError with the reason when there is none."""
    settings = store_settings(store_url)
    if RECORDER_TOPIC not in settings:
        raise NoChainError(f"store '{store_url}' keeps no hash chain: the in-memory store holds "
                           "events only while a process runs; verify a sqlite:/// or "
                           "postgresql:// store")
    if "SQLITE_DBNAME" in settings and not Path(settings["SQLITE_DBNAME"]).is_file():
        raise NoChainError(f"no event log at '{settings['SQLITE_DBNAME']}' (store '{store_url}')")
    from services.ledger import Ledger  # its name prefixes the settings and PostgreSQL tables

    env = Environment(Ledger.name, {**os.environ, **settings, "CREATE_TABLE": "no",
                                    f"{Ledger.name.upper()}_CREATE_TABLE": "no"})
    factory = InfrastructureFactory.construct(env)
    try:
        recorder = chain_of(factory.application_recorder())
        assert recorder is not None, f"{settings[RECORDER_TOPIC]} is not a chain recorder"
        missing = recorder.missing_tables()
        if missing:
            raise NoChainError(
                f"store '{store_identity(store_url)}' has no table {', '.join(missing)}: "
                + ("it holds no event log" if recorder.events_table_name in missing else
                   "its log was written before the hash chain; any paddock command that "
                   "records or reads facts there creates the chain over the events it finds"))
        yield recorder
    finally:
        factory.close()
