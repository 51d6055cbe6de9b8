"""Ingest a source for a list of months: fetch → archive → parse → load, one month at a time.

This is what an Airflow ingestion task calls (one call batches every month of the run's data
interval, so a backfill of 96 months is one task per agency, not 96).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg

from ingest.base import FeedError
from ingest.http import Endpoint, FeedClient
from ingest.registry import connector
from ingest.store import Store, content_hash, ensure_raw_tables

log = logging.getLogger("ipkpi.ingest")


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
        outcomes = ", ".join(f"{o} {self.count(o)}" for o in ("loaded", "same_content", "unchanged", "not_published")
                             if self.count(o))
        return f"{self.source}: {len(self.months)} months ({outcomes}); {rows} rows loaded, {quarantined} quarantined"


def ingest_months(source_name: str, months: list[str], dsn: str, endpoint: Endpoint,
                  run_id: str | None = None, progress=None, http_options: dict | None = None) -> IngestReport:
    """Bring ``months`` of a source into the raw layer. Idempotent per month.

    ``http_options`` tune the shared client (time-outs, retries, back-off; see FeedClient).
    """
    source = connector(source_name)
    report = IngestReport(source.name)
    client = FeedClient(endpoint, **(http_options or {}))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            ensure_raw_tables(conn, [source])
            conn.execute("SET ROLE ipkpi_loader")  # from here on: raw and quarantine, nothing else
            store = Store(conn, source)
            for i, period in enumerate(months, start=1):
                result = ingest_month(source, store, client, period, run_id)
                report.months.append(result)
                if progress:
                    progress(i, len(months), result)
    finally:
        client.close()
    log.info(report.summary())
    return report


def ingest_month(source, store: Store, client: FeedClient, period: str, run_id: str | None) -> MonthResult:
    state = store.month_state(period)
    held = state is not None and state["status"] == "available"
    fetched = source.fetch(client, period, etag=state["etag"] if held else None)
    if fetched.not_published:
        store.mark_checked(period, run_id, not_published=True)
        return MonthResult(period, "not_published")
    if fetched.unchanged:
        store.mark_checked(period, run_id)
        return MonthResult(period, "unchanged", load_id=state["current_load_id"])
    payloads = fetched.payloads
    store.archive(period, payloads, run_id)
    existing = store.existing_load(period, content_hash(payloads))
    if existing is not None:  # this exact content was loaded before: point at it, load nothing
        with store.conn.transaction():
            store.point_to(period, existing, payloads[-1].etag, payloads[-1].last_modified, run_id)
        return MonthResult(period, "same_content", load_id=existing)
    try:
        parsed = source.parse(payloads, period)
    except FeedError:
        raise
    except Exception as exc:  # a payload we cannot read at all: name the source, period and URL
        raise FeedError(source.name, period, payloads[0].url if payloads else "-",
                        f"malformed payload: {type(exc).__name__}: {exc}") from exc
    if hasattr(source, "check_history"):  # rules that need earlier months (the statistics' ytd)
        parsed = source.check_history(store.conn, period, parsed)
    load_id = store.load(period, payloads, parsed, run_id)
    return MonthResult(period, "loaded", len(parsed.rows), len(parsed.rejected), load_id)
