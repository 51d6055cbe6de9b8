"""Ingest a source for a list of months: fetch → archive → parse → load, month by month.

This is what an Airflow ingestion task calls (one call batches every month of the run's data
interval, so a backfill of 96 months is one task per agency, not 96).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg

from ingest.base import FeedError, Fetched, Parsed
from ingest.calendar import default_agency_published_at
from ingest.http import Endpoint, FeedClient
from ingest.registry import connector
from ingest.store import Store, content_hash

log = logging.getLogger("ipkpi.ingest")
# months received (fetched, archived, parsed) at once, ahead of the one loading: a paged month is
# hundreds of requests one after the other (an AMR month at ×100: ≈ 360), each a round trip in
# which neither side computes; two months fetched side by side keep both cores busy. Memory: at
# most this many months plus the one loading are held.
READ_AHEAD = 2


@dataclass
class MonthResult:
    period: str
    outcome: str  # loaded | unchanged | not_published | same_content
    rows: int = 0
    quarantined: int = 0
    load_id: int | None = None


@dataclass
class IngestReport:
    source: str
    months: list[MonthResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for m in self.months if m.outcome == outcome)

    def summary(self) -> str:
        rows = sum(m.rows for m in self.months)
        quarantined = sum(m.quarantined for m in self.months)
        outcomes = ", ".join(
            f"{o} {self.count(o)}" for o in ("loaded", "same_content", "unchanged", "not_published") if self.count(o)
        )
        return f"{self.source}: {len(self.months)} months ({outcomes}); {rows} rows loaded, {quarantined} quarantined"


def ingest_months(
    source_name: str,
    months: list[str],
    dsn: str,
    endpoint: Endpoint,
    run_id: str | None = None,
    progress=None,
    http_options: dict | None = None,
    at: datetime | None = None,
) -> IngestReport:
    """Bring ``months`` of a source into the raw layer. Idempotent per month.

    Months are read ahead: while Postgres loads month M, READ_AHEAD threads fetch months M+1, M+2,
    archive them (over their own connection) and parse them (HTTP waits, pyarrow, numpy and hashing
    release the GIL), so the two CPUs work at once instead of taking turns. Months are still
    checked and loaded strictly in order, one transaction each, and an error surfaces at its own
    month, after the months before it are loaded; a payload is archived before anything reads it.

    ``http_options`` tune the shared client (time-outs, retries, back-off; see FeedClient).
    ``at`` is the run's instant (a scheduled run's data interval end; default now): the release
    calendar (ingest.calendar) records when each month was asked and first loaded on that clock.
    """
    at = at or datetime.now(timezone.utc)
    source = connector(source_name)
    report = IngestReport(source.name)
    client = FeedClient(endpoint, **(http_options or {}))
    try:
        with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix=f"read-{source.name}") as reader:
            # the reader's own connection (for archiving) is opened while we open ours: two
            # password handshakes at once, not one after the other
            second = reader.submit(psycopg.connect, dsn, autocommit=True)
            with (
                closing_on_error(second),
                psycopg.connect(dsn, autocommit=True) as conn,
                second.result() as archive_conn,
            ):
                try:
                    load_in_order(source, months, conn, archive_conn, reader, client, run_id, report, at, progress)
                finally:  # an archive in flight finishes before its connection closes
                    reader.shutdown(wait=True)
    finally:
        client.close()
    log.info(report.summary())
    return report


def load_in_order(
    source,
    months: list[str],
    conn: psycopg.Connection,
    archive_conn: psycopg.Connection,
    reader: ThreadPoolExecutor,
    client: FeedClient,
    run_id: str | None,
    report: IngestReport,
    at: datetime,
    progress=None,
) -> None:
    """The month loop: ``reader`` receives the next READ_AHEAD months while this thread loads month M."""
    # the raw tables exist since set-up (ipkpi init): the tasks' login may not create tables
    for c in (conn, archive_conn):
        c.execute("SET ROLE ipkpi_loader")  # from here on: raw and quarantine, nothing else
    store, archive = Store(conn, source), Store(archive_conn, source)
    # read once: this task is the only writer of its source's months (max_active_runs=1)
    states = store.month_states(months)

    archiving = threading.Lock()  # the readers share the archive's connection: one month's transaction at a time

    def read(period: str) -> Future:
        return reader.submit(receive, source, client, archive, period, states.get(period), run_id, archiving)

    upcoming = deque(read(period) for period in months[:READ_AHEAD])
    for i, period in enumerate(months):
        received = upcoming.popleft().result()  # a fetch that failed raises here, at its month
        if i + READ_AHEAD < len(months):
            upcoming.append(read(months[i + READ_AHEAD]))
        result = ingest_month(source, store, period, states.get(period), received, run_id, at)
        report.months.append(result)
        if progress:
            progress(i + 1, len(months), result)


@contextmanager
def closing_on_error(pending: Future):
    """Close the connection ``pending`` opens if what follows fails before taking it over."""
    try:
        yield
    except BaseException:
        if not pending.cancel() and pending.exception() is None:
            pending.result().close()
        raise


@dataclass
class Received:
    """A month as the agency answered it, read (parsed) ahead of its load."""

    fetched: Fetched
    parsed: Parsed | None = None
    unreadable: FeedError | None = None  # raised only if the content turns out to be new


def receive(
    source,
    client: FeedClient,
    archive: Store,
    period: str,
    state: dict | None,
    run_id: str | None,
    archiving: threading.Lock | None = None,
) -> Received:
    held = state is not None and state["status"] == "available"
    fetched = source.fetch(client, period, etag=state["etag"] if held else None)
    received = Received(fetched)
    if fetched.payloads:
        with archiving or nullcontext():
            archive.archive(period, fetched.payloads, run_id)  # committed before anything parses it
        try:
            received.parsed = source.parse(fetched.payloads, period)
        except FeedError as exc:  # kept, and raised in order by ingest_month
            received.unreadable = exc
        except Exception as exc:
            received.unreadable = FeedError(
                source.name, period, fetched.payloads[0].url, f"malformed payload: {type(exc).__name__}: {exc}"
            )
            received.unreadable.__cause__ = exc
    return received


def ingest_month(
    source, store: Store, period: str, state: dict | None, received: Received, run_id: str | None, at: datetime
) -> MonthResult:
    fetched = received.fetched
    if fetched.not_published:
        store.mark_checked(period, run_id, at, not_published=True)
        return MonthResult(period, "not_published")
    if fetched.unchanged:
        store.mark_checked(period, run_id, at)
        return MonthResult(period, "unchanged", load_id=state["current_load_id"])
    payloads = fetched.payloads  # archived already, by receive()
    published_at = (received.parsed and received.parsed.published_at) or default_agency_published_at(
        period, payloads[-1].last_modified
    )
    existing = state["loads"].get(content_hash(payloads)) if state else None
    if existing is not None:  # this exact content was loaded before: point at it, load nothing
        with store.conn.transaction():
            store.point_to(period, existing, payloads[-1].etag, payloads[-1].last_modified, run_id, at, published_at)
        return MonthResult(period, "same_content", load_id=existing)
    if received.unreadable is not None:
        raise received.unreadable
    parsed = received.parsed
    parsed = source.check_history(store.conn, period, parsed)  # rules that need earlier months (the statistics' ytd)
    load_id = store.load(period, payloads, parsed, run_id, at, published_at)
    return MonthResult(period, "loaded", len(parsed.rows), len(parsed.rejected), load_id)
