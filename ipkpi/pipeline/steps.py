"""The pipeline's steps, as plain functions: the DAG calls them, tests and tools can too.

ingest (one call per agency, batching every month of the run) → transform (dbt build, the
candidate) → validate (the GX gate) → publish (the atomic swap).
"""

from __future__ import annotations

import logging
from datetime import datetime

import pendulum

from ipkpi.platform.config import TIMEZONE, Settings

log = logging.getLogger("ipkpi.pipeline.steps")


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


def ingest(
    source: str, months: list[str] | None, run_id: str | None, endpoint=None, instant: datetime | None = None
) -> dict:
    """Bring a source's months into raw. ``months=None``: the months the release calendar says are
    due at ``instant`` (a scheduled run), and then one alert for every month the agency is newly
    late with (an explicit range is about its months only: no lateness alerts)."""
    import psycopg

    from ingest.base import FeedError
    from ingest.calendar import compact, due_months
    from ingest.http import AuthError, Endpoint
    from ingest.registry import SOURCES, connector
    from ingest.runner import ingest_months
    from ipkpi.platform.config import first_month

    settings = Settings.from_env()
    endpoint = endpoint or Endpoint.from_airflow(SOURCES[source])
    instant = instant or pendulum.now("UTC")
    scheduled = months is None
    if scheduled:
        with psycopg.connect(settings.warehouse_dsn) as conn:
            months = due_months(conn, connector(source), first_month(), instant)
        log.info("%s: %d months due at %s: %s", source, len(months), instant.isoformat(), compact(months))

    def progress(i, n, result):
        if i == n or i % 12 == 0:
            log.info("%s: %d/%d months (%s %s)", source, i, n, result.period, result.outcome)

    try:
        report = ingest_months(source, months, settings.warehouse_dsn, endpoint, run_id, progress, at=instant)
    except (AuthError, FeedError) as exc:
        # a wrong credential or a malformed payload does not heal by retrying: fail the task now
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc
    log.info(report.summary())
    late = alert_overdue(settings.warehouse_dsn, source, instant, run_id) if scheduled else []
    return {
        "source": source,
        "summary": report.summary(),
        "instant": instant.isoformat(),
        "months": months,
        "loaded": [m.period for m in report.months if m.outcome == "loaded"],
        "not_published": [m.period for m in report.months if m.outcome == "not_published"],
        "overdue_alerted": late,
    }


def alert_overdue(dsn: str, source: str, instant: datetime, run_id: str | None) -> list[str]:
    """One alert per source and month past its expected publication (log and the ``ipkpi_alerts``
    webhook), the first time a run sees it late; never a failure. Returns the months alerted now."""
    import psycopg

    from ingest.calendar import compact, overdue_months, rhythm_of
    from ingest.registry import connector
    from ipkpi.platform.config import first_month
    from ipkpi.platform.notify import post

    feed = connector(source)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET ROLE ipkpi_loader")
        overdue = overdue_months(conn, feed, first_month(), instant)
        alerted = []
        for period, due in overdue:
            if conn.execute(
                """INSERT INTO raw.lateness_alerts (source, period, due_at, alerted_at, run_id)
                               VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING period""",
                (source, period, due, instant, run_id),
            ).fetchone():
                alerted.append(period)
    if alerted:
        lag = rhythm_of(feed).lag_days
        text = (
            f"ipkpi: {source} is late with {compact(alerted)}: not published {lag} days after the month "
            f"ended (as of {instant.isoformat()}); scheduled runs keep asking"
        )
        log.warning("%s", text)
        post(
            {
                "kind": "overdue",
                "source": source,
                "months": alerted,
                "lag_days": lag,
                "as_of": instant.isoformat(),
                "run_id": run_id,
                "text": text,
            }
        )
    return alerted


def begin(
    periods: str, instant: datetime | None = None, *, force: bool = False, run_id: str | None = None, on_busy=None
) -> str | None:
    """Open a publication attempt — unless nothing changed: when the raw months and the code that
    builds and checks the mart are exactly those of the current publication, a new one would be
    the same, so there is no attempt (None) and dbt, the gate and the swap do not run. ``force``
    opens one all the same (tests of the gate and the swap).

    The attempt first takes the publication lock (one attempt at a time, whatever the route). While
    another live attempt holds it, ``on_busy(holder)`` is called — the DAG reschedules its task,
    freeing the worker slot — or, without it, this waits."""
    import time

    from ipkpi.pipeline.publish import (
        acquire_lock,
        current_publication_inputs,
        drop_other_candidates,
        input_fingerprint,
        log_attempt,
        new_publication_id,
        release_lock,
    )

    dsn = Settings.from_env().warehouse_dsn
    publication_id = new_publication_id()
    while (holder := acquire_lock(dsn, publication_id, run_id, airflow_run_alive)) is not None:
        if on_busy is not None:
            on_busy(holder)
        log.info("waiting for %s to finish", holder)
        time.sleep(5)
    try:
        fingerprint = input_fingerprint(dsn)
        current = current_publication_inputs(dsn)
        if current and current[1] == fingerprint and not force:
            log.info(
                "no change: the raw months and the transformation are those of publication %s; "
                "nothing to build, check or publish",
                current[0],
            )
            release_lock(dsn, publication_id)
            return None
        drop_other_candidates(dsn, publication_id)
        log_attempt(dsn, publication_id, periods, fingerprint, instant)
        note_superseded_rollback(dsn, publication_id)
    except BaseException:
        release_lock(dsn, publication_id)
        raise
    return publication_id


def note_superseded_rollback(dsn: str, publication_id: str) -> None:
    """When BI reads a rollback now, this attempt will supersede it: said in the log and the
    publication's detail (``ipkpi run`` prints it)."""
    import psycopg

    from ipkpi.pipeline.publish import finish_attempt

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT publication_id, rollback_of FROM vintage.publications ORDER BY vintage_no DESC LIMIT 1"
        ).fetchone()
    if row and row[1]:
        log.info(
            "publication %s supersedes the rollback %s (to %s): the agencies' current data are published again",
            publication_id,
            row[0],
            row[1],
        )
        finish_attempt(dsn, publication_id, "running", detail={"supersedes_rollback": row[0]})


def airflow_run_alive(run_id: str) -> bool | None:
    """Whether a DAG run of the pipeline is still queued or running (asked through the task SDK);
    None outside an Airflow task, or when Airflow does not know the run."""
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        state = RuntimeTaskInstance.get_dagrun_state("ipkpi_pipeline", run_id)
    except Exception:  # not in a task (tools, tests), or the run is unknown
        return None
    return str(state) in ("queued", "running", "DagRunState.QUEUED", "DagRunState.RUNNING")


PUBLICATION_STEPS = ("transform", "validate", "publish")


def abandon_failed_attempt(context) -> None:
    """On the final failure of a publication step: the attempt is over (marked failed if it was
    still running) and the publication lock is released, so the next attempt may begin."""
    import psycopg

    from ipkpi.pipeline.publish import abandon_attempt, release_lock

    ti = context.get("task_instance") or context.get("ti")
    if getattr(ti, "task_id", None) not in PUBLICATION_STEPS:
        return
    try:
        publication_id = ti.xcom_pull(task_ids="begin")
    except Exception:  # no XCom here (e.g. a callback run outside the task): the run's end frees the lock
        return
    if not publication_id:
        return
    dsn = Settings.from_env().warehouse_dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        abandon_attempt(conn, publication_id, f"{ti.task_id} failed")
    release_lock(dsn, publication_id)


def transform(publication_id: str, run_id: str | None = None) -> None:
    """dbt build into the attempt's candidate. A failed build ends the attempt (failed, lock
    released); Airflow's retry of this task resumes it — unless another attempt began meanwhile."""
    from ipkpi.pipeline.publish import candidate_schema, finish_attempt, release_lock, resume_attempt
    from ipkpi.pipeline.transform import TransformError, build

    settings = Settings.from_env()
    resume_attempt(settings.warehouse_dsn, publication_id, run_id, airflow_run_alive)
    try:
        build(settings.warehouse_dsn, settings.home, publication_id, candidate_schema(publication_id))
    except TransformError as exc:
        finish_attempt(settings.warehouse_dsn, publication_id, "failed", detail={"transform": str(exc)})
        release_lock(settings.warehouse_dsn, publication_id)
        raise


def validate(publication_id: str) -> dict:
    """The gate on the attempt's candidate; what it validated is recorded as a digest, which the
    swap checks."""
    import psycopg

    from ipkpi.pipeline.gate import run_gate
    from ipkpi.pipeline.publish import (
        PublicationBlocked,
        candidate_digest,
        candidate_schema,
        finish_attempt,
        release_lock,
    )

    settings = Settings.from_env()
    schema = candidate_schema(publication_id)
    with psycopg.connect(settings.warehouse_dsn, autocommit=True) as conn:
        digest = candidate_digest(conn, schema)  # before the gate reads it: a change after this is caught
    result = run_gate(settings.warehouse_dsn, settings.home, schema, run_name=publication_id)
    summary = result.summary()
    for suite, ok in summary["suites"].items():
        log.info("suite %-32s %s", suite, "PASS" if ok else "FAIL")
    for check in result.failed:
        log.warning("%s", check.describe())
    if not result.passed:
        finish_attempt(
            settings.warehouse_dsn, publication_id, "blocked", len(result.checks), len(result.failed), {"gate": summary}
        )
        release_lock(settings.warehouse_dsn, publication_id)
        blocking = "; ".join(c.describe() for c in result.blocking)
        raise PublicationBlocked(f"publication {publication_id} blocked by the quality gate: {blocking}")
    finish_attempt(
        settings.warehouse_dsn,
        publication_id,
        "running",
        len(result.checks),
        len(result.failed),
        {"gate": summary, "validated": {"candidate": schema, "digest": digest}},
    )
    return summary


def publish(publication_id: str) -> None:
    from ipkpi.pipeline.publish import swap

    swap(Settings.from_env().warehouse_dsn, publication_id)
    log.info("published %s", publication_id)
