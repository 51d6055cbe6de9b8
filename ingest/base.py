"""The small interface every agency connector implements, and the values that cross it.

A connector is the one declaration of its feed (README "Adding a feed"): its agency (connection,
credential, name), source name, raw table and columns as :class:`~ingest.fields.Field` s (hence
its enumerations), publication rhythm and display name — from which the registry, the secrets,
the sandbox's credentials, the gate's column and enumeration checks and the white paper's source
names are derived — and how to ask for one month (``fetch``) and read what came back (``parse``).
Everything else — HTTP retries, archiving every payload, COPY loading, quarantine, idempotency —
is shared (``ingest.runner``).

Import-light on purpose, as the connector modules are: the registry imports every connector when
the DAG file is parsed, so HTTP, JSON, Arrow and workbook libraries are imported inside
``fetch``/``parse``, never at a connector module's top.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from ingest.calendar import Rhythm

if TYPE_CHECKING:  # annotations only: ingest.http imports requests
    from ingest.fields import Field
    from ingest.http import FeedClient


class FeedError(RuntimeError):
    """A payload or a response the contract does not allow (or over a bound of ingest.limits):
    fails the task, names source, period and URL.

    Not transient: the pipeline fails the task without Airflow retries. The HTTP layer raises it too.
    """

    def __init__(self, source: str, period: str, url: str, message: str):
        self.source, self.period, self.url = source, period, url
        super().__init__(f"{source} {period}: {message} ({url})")


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


@dataclass(frozen=True)
class Agency:
    """An agency the pipeline reads: one Airflow connection and one credential, for each of its
    sources (the AMR's cases and statistics return share theirs)."""

    section: int  # its section of the contract (SOURCES.md §n): the order agencies are listed in
    key: str  # the credential's key in $IPKPI_HOME/secrets.json ("sandbox") and in the sandbox's credentials file
    conn_id: str  # the Airflow connection (AIRFLOW_CONN_<CONN_ID>), SOURCES.md
    name: str  # the agency's own name (the white paper prints each source's display_name)
    credential: str  # how its feed presents the connection's password (documentation; ``fetch`` does it)


class Source:
    """One feed endpoint of an agency. A connector subclasses it and declares the class attributes
    below; ``fetch`` and ``parse`` are its code."""

    name: ClassVar[str]  # the contract's source name (SOURCES.md), the pipeline's key everywhere
    agency: ClassVar[Agency]
    display_name: ClassVar[str]  # what the white paper prints for it
    raw_table: ClassVar[str]
    # the feed's fields (CSV headers, JSON keys, workbook columns) in the order a record is checked:
    # the raw table's columns and the gate's column and enumeration checks are derived from them
    fields: ClassVar[tuple[Field, ...]]
    rhythm: ClassVar[Rhythm]  # when the agency publishes a month and how long it may re-issue it (ingest.calendar)
    # other raw tables the source fills: name -> columns (e.g. the customs 合计 row)
    extra_tables: ClassVar[dict[str, tuple[Column, ...]]] = {}
    # change feeds: the columns of one version of a record (raw keeps each version once)
    version_key: ClassVar[tuple[str, str] | None] = None
    # (column, value) of a record that counts in no KPI once revoked (SOURCES.md): vintages name
    # it as a revision's reason
    revoked: ClassVar[tuple[str, str] | None] = None

    @property
    def conn_id(self) -> str:
        return self.agency.conn_id

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The raw table's columns, declared by the fields."""
        return tuple(f.raw_column for f in self.fields)

    @cached_property
    def enumerations(self) -> dict[str, tuple]:
        """Raw column -> the contract's values of each enumerated field, as declared."""
        return {f.column: tuple(f.allowed) for f in self.fields if f.kind == "enum"}

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        raise NotImplementedError

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        raise NotImplementedError

    def check_history(self, conn, period: str, parsed: Parsed) -> Parsed:
        """Rules that need earlier months (the statistics' ytd), on the warehouse connection:
        none by default."""
        return parsed
