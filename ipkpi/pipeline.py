"""The pipeline's steps, as plain functions: the DAG calls them, tests and tools can too.

ingest (one call per agency, batching every month of the run) → transform (dbt build, the
candidate) → validate (the GX gate) → publish (the atomic swap).
"""

from __future__ import annotations

import logging
from datetime import datetime

import pendulum

from ipkpi.config import TIMEZONE, Settings

log = logging.getLogger("ipkpi.pipeline")


def months_in_interval(start: datetime, end: datetime) -> list[str]:
    """The calendar months (YYYY-MM, Asia/Shanghai) that start inside [start, end)."""
    cursor = pendulum.instance(start).in_timezone(TIMEZONE).start_of("month")
    if cursor < pendulum.instance(start):
        cursor = cursor.add(months=1)
    stop = pendulum.instance(end)
    months = []
    while cursor < stop:
        months.append(cursor.format("YYYY-MM"))
        cursor = cursor.add(months=1)
    return months


def month_bounds(first: str, last: str) -> tuple[datetime, datetime]:
    """[first-01T00:00+08:00, (last+1)-01T00:00+08:00): the data interval covering the months."""
    start = pendulum.from_format(first, "YYYY-MM", tz=TIMEZONE)
    end = pendulum.from_format(last, "YYYY-MM", tz=TIMEZONE).add(months=1)
    if end <= start:
        raise ValueError(f"empty range {first} … {last}")
    return start, end


def ingest(source: str, months: list[str], run_id: str | None, endpoint=None) -> dict:
    from ingest.base import FeedError
    from ingest.http import AuthError, Endpoint
    from ingest.registry import SOURCES
    from ingest.runner import ingest_months

    settings = Settings.from_env()
    endpoint = endpoint or Endpoint.from_airflow(SOURCES[source])

    def progress(i, n, result):
        if i == n or i % 12 == 0:
            log.info("%s: %d/%d months (%s %s)", source, i, n, result.period, result.outcome)

    try:
        report = ingest_months(source, months, settings.warehouse_dsn, endpoint, run_id, progress)
    except (AuthError, FeedError) as exc:
        # a wrong credential or a malformed payload does not heal by retrying: fail the task now
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc
    log.info(report.summary())
    return {"source": source, "summary": report.summary(),
            "not_published": [m.period for m in report.months if m.outcome == "not_published"]}


def begin(periods: str) -> str:
    from ipkpi.publish import log_attempt, new_publication_id

    publication_id = new_publication_id()
    log_attempt(Settings.from_env().warehouse_dsn, publication_id, periods)
    return publication_id


def transform(publication_id: str) -> None:
    from ipkpi.publish import finish_attempt
    from ipkpi.transform import TransformError, build

    settings = Settings.from_env()
    try:
        build(settings.warehouse_dsn, settings.home, publication_id)
    except TransformError as exc:
        finish_attempt(settings.warehouse_dsn, publication_id, "failed", detail={"transform": str(exc)})
        raise


def validate(publication_id: str) -> dict:
    from ipkpi.gate import run_gate
    from ipkpi.publish import CANDIDATE, PublicationBlocked, finish_attempt

    settings = Settings.from_env()
    result = run_gate(settings.warehouse_dsn, settings.home, CANDIDATE, run_name=publication_id)
    summary = result.summary()
    for suite, ok in summary["suites"].items():
        log.info("suite %-32s %s", suite, "PASS" if ok else "FAIL")
    for check in result.failed:
        log.warning("%s", check.describe())
    if not result.passed:
        finish_attempt(settings.warehouse_dsn, publication_id, "blocked", len(result.checks),
                       len(result.failed), {"gate": summary})
        blocking = "; ".join(c.describe() for c in result.blocking)
        raise PublicationBlocked(f"publication {publication_id} blocked by the quality gate: {blocking}")
    finish_attempt(settings.warehouse_dsn, publication_id, "running", len(result.checks), len(result.failed),
                   {"gate": summary})
    return summary


def publish(publication_id: str) -> None:
    from ipkpi.publish import swap

    swap(Settings.from_env().warehouse_dsn, publication_id)
    log.info("published %s", publication_id)
