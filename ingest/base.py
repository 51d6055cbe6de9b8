"""The small interface every agency connector implements, and the values that cross it.

A connector knows its feed: how to ask for one month (``fetch``), how to read what came back
(``parse``) and what its raw table looks like (``columns``). Everything else — HTTP retries,
archiving every payload, COPY loading, quarantine, idempotency — is shared (``ingest.runner``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from ingest.calendar import Rhythm

# FeedError: a payload or a response the contract does not allow (or over a bound of
# ingest.limits): fails the task, names source, period and URL. Defined with the HTTP layer, which
# raises it too; connectors import it from here.
from ingest.http import FeedClient, FeedError  # noqa: F401


class RowError(ValueError):
    """A row that breaks the contract; ``reason`` is the quarantine reason (e.g. ``unknown_region``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    doc: str = ""


@dataclass
class Payload:
    """One response body as received (a page, a file, a document), with its fetch metadata."""

    url: str  # credentials never appear here (see FeedClient.public_url)
    body: bytes
    http_status: int
    page: int = 1
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    # a JSON page as decoded when received (paging reads it), until parse takes it: decoded once
    document: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def sha256(self) -> str:  # asked for by the archive, the content hash and quarantine rows
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class Rejected:
    """A bad row: kept in quarantine with where it came from and why."""

    page: int
    row: int
    reason: str
    record: dict[str, Any]


@dataclass
class Parsed:
    """What a month's payloads hold: good rows for raw, bad rows for quarantine, side facts."""

    # each: (page, row, *columns); or ingest.columnar.ColumnarRows (same order), as the feeds read
    # with Fields give them
    rows: Any = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    extras: dict[str, list[tuple]] = field(default_factory=dict)  # other raw tables of the source
    promised: int | None = None  # how many records the feed said it sent (the court's `total`)
    published_at: datetime | None = None  # when the agency says it published this (the statistics return)


@dataclass
class Fetched:
    """The outcome of asking for a month: payloads, or 'not published yet', or 'unchanged'."""

    payloads: list[Payload] = field(default_factory=list)
    not_published: bool = False
    unchanged: bool = False  # the agency answered 304 to our If-None-Match


class Source(Protocol):
    name: str
    conn_id: str
    raw_table: str
    columns: tuple[Column, ...]
    # other raw tables the source fills: name -> columns (e.g. the customs 合计 row)
    extra_tables: dict[str, tuple[Column, ...]]
    rhythm: Rhythm  # when the agency publishes a month and how long it may re-issue it (ingest.calendar)

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched: ...

    def parse(self, payloads: list[Payload], period: str) -> Parsed: ...

    # optional: ``check_history(conn, period, parsed) -> Parsed`` for rules that need earlier months
