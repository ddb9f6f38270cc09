"""Hash-chained application recorders (SQLite, PostgreSQL) and how to read their chain.

`infra.store` points the eventsourcing setting APPLICATION_RECORDER_TOPIC at the recorders in
`infra.chain.sqlite` / `infra.chain.postgres`. Each stores, in the same transaction as the
events it appends, one row per event in a side table `<events table>_chain`
(`position, previous, digest, partition`: one chain per home partition), computed by
`services.audit_chain`. Position 0 of that table is the genesis row, written once, when the
store is created with an empty log. A log that holds events no chain row covers (chain table
dropped, cut short, genesis row edited, or a log written before Paddock chained its logs) is
never (re-)chained: every writer refuses it, naming the problem and `paddock audit verify`
(`needs_genesis`, `next_links`). A chain written before it was split per partition (one global
chain) is kept as partition "" (services/audit_chain.py).

The pure walk lives in `services.audit_chain`; this package only reads rows for it.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, PersistenceError
from eventsourcing.utils import Environment

from infra.store import store_settings
from services.audit_chain import (
    GENESIS,
    Checkpoint,
    Link,
    Prior,
    Verdict,
    chain_partitions,
    merge,
    walk,
)

RECORDER_TOPIC = "APPLICATION_RECORDER_TOPIC"
CHAIN_SUFFIX = "_chain"
PAGE = 1000


class ChainConflictError(PersistenceError):
    """An append found its log position already chained: the log was altered outside Paddock
    (e.g. its last event row deleted, so SQLite hands out that position again)."""


class UnchainedLogError(PersistenceError):
    """The log holds events that no chain row covers (the chain table dropped, cut short, or its
    genesis row edited): refused for writing, never re-chained."""


class NoChainError(Exception):
    """This store keeps no hash chain (memory://) or no event log at all."""


@dataclass(frozen=True)
class ChainStart:
    """What a writer finds when it opens a store: the last event row's position, the chain's last
    position and its genesis row (previous, digest), each None when absent."""

    last_event: int | None
    chain_head: int | None
    genesis: tuple[str, str] | None


def needs_genesis(found: ChainStart, where: str) -> bool:
    """Whether to write the genesis row now: only for a new, empty log. Raises UnchainedLogError
    for a log with events no chain covers: a chain starts with its log, never over one."""
    if found.genesis is None:
        if found.last_event is None and found.chain_head is None:
            return True
        raise UnchainedLogError(
            f"{where}: the log holds events (up to position {found.last_event}) but no hash chain "
            "(its chain table was dropped or its genesis row 0 deleted, or the log was written "
            "without one)" + _REFUSED)
    if found.genesis != (GENESIS, GENESIS):
        raise UnchainedLogError(f"{where}: the hash chain's genesis row 0 was edited" + _REFUSED)
    if found.last_event is not None and found.last_event > (found.chain_head or 0):
        raise unchained(where, found.chain_head or 0, found.last_event)
    return False


_REFUSED = ("; it is not re-chained (that would vouch for the events as they are now) and nothing "
            "was recorded; run `paddock audit verify`")


def unchained(where: str, chain_head: int, last_event: int) -> UnchainedLogError:
    return UnchainedLogError(
        f"{where}: event rows after position {chain_head} (up to {last_event}) have no digest in "
        "the hash chain: it was cut short or events were inserted outside Paddock" + _REFUSED)


@dataclass(frozen=True)
class AppendStart:
    """What an append reads, in one statement, before it chains its events: the chain's last
    position, the last event row before the new ones, the lowest new position already chained
    (None: none), and the last digest of each partition appended to (absent: its first event)."""

    chain_head: int | None
    last_event: int | None
    taken: int | None
    heads: dict[str, str]


def next_links(found: AppendStart, contents: Sequence[tuple[int, str, bytes]], where: str
               ) -> list[tuple[int, str, str, str]]:
    """The (position, previous, digest, partition) rows that chain `contents` (position, home
    partition, content), each after its partition's last digest; refuses positions already
    chained (event rows deleted outside Paddock and their ids reused) and a chain that stops
    before the last event row (cut short, or events inserted outside Paddock)."""
    if found.chain_head is None:
        raise UnchainedLogError(f"{where}: the hash chain has no rows (not even its genesis row 0)"
                                + _REFUSED)
    if found.taken is not None:
        raise ChainConflictError(
            f"{where}: position {found.taken} is already chained: the log was altered outside "
            "Paddock; nothing was recorded; run `paddock audit verify`")
    if found.last_event is not None and found.last_event > found.chain_head:
        raise unchained(where, found.chain_head, found.last_event)
    return [(link.position, link.previous, link.digest, link.partition)
            for link in chain_partitions(found.heads, contents)]


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

    @property
    @abstractmethod
    def _where(self) -> str:
        """The chain table, as messages name it."""

    @abstractmethod
    def max_notification_id(self) -> int | None:
        """The last event row's position (eventsourcing's)."""

    @abstractmethod
    def chain_start(self) -> ChainStart:
        """What a writer checks when it opens the store (the chain table exists)."""

    def refuse_unchained(self) -> None:
        """Raise UnchainedLogError if the log holds events that no chain covers: for a reader
        that opens the store without creating tables (writers check when they create them). A
        store without an events table holds no log, so nothing unchained."""
        missing = self.missing_tables()
        if self.events_table_name in missing:
            return
        if self.chain_table_name in missing:
            found = ChainStart(self.max_notification_id() or None, None, None)
        else:
            found = self.chain_start()
        needs_genesis(found, self._where)

    @abstractmethod
    def _chain_rows(self, after: int, until: int | None, chained: bool
                    ) -> AbstractContextManager[tuple[Iterable[tuple[int, bytes]], Iterable[Link]]]:
        """Event rows (position, canonical content) and chain rows (none when not `chained`: no
        chain table) after `after` (from row 0 when 0) up to `until`, both ascending, read from
        one snapshot of the store."""

    @abstractmethod
    def missing_tables(self) -> list[str]:
        """Tables this recorder needs that the store does not have."""

    @abstractmethod
    def prior_link(self, partition: str, position: int) -> tuple[int, str]:
        """The position and stored digest of a partition's last chain row before `position`,
        (0, GENESIS) when none: where a walk that starts mid-log picks the partition up."""

    def final_head(self) -> int:
        """The last position, when every position up to it is final (no append in flight can
        still commit one below it); else 0, "not known" (PostgreSQL, appends in flight): what a
        reader may take as complete up to, after reading (services/partition_folds.py)."""
        return self.max_notification_id() or 0

    def stable_head(self, after: int) -> int | None:
        """The last position after `after` up to which the log is final: no append in flight
        can still commit an event at or below it. None: every committed event is final (SQLite,
        one writer at a time)."""
        return None

    def walk_chain(self, checkpoints: Sequence[Checkpoint] = (), *, after: int = 0,
                   previous: str = GENESIS, until: int | None = None) -> Verdict:
        """Verify the chain after position `after` (whose history digest is `previous`), up to
        `until` and never past the stable head (a checkpoint must not move when an append in
        flight with a lower position commits)."""
        chained = self.chain_table_name not in self.missing_tables()
        stable = self.stable_head(after)
        if stable is not None:
            until = stable if until is None else min(until, stable)
        prior: Prior | None = self.prior_link if chained and after else None
        with self._chain_rows(after, until, chained) as (events, links):
            return walk(merge(events, links), checkpoints, after=after, previous=previous,
                        chained=chained, prior=prior)


def links_after(after: int) -> int:
    """The bound of `position > bound` that reads a chain after `after`: from row 0 (the genesis
    row, which a walk from the start checks) when `after` is 0."""
    return after if after else -1


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
    not change what it verifies). Raises NoChainError with the reason when there is no log."""
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
        if recorder.events_table_name in recorder.missing_tables():
            raise NoChainError(f"store '{store_identity(store_url)}' has no table "
                               f"{recorder.events_table_name}: it holds no event log")
        yield recorder  # a missing chain table is the walk's finding (`missing_chain`)
    finally:
        factory.close()
