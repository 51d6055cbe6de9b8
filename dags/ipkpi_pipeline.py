"""ipkpi_pipeline — the airflow DAG: one ingestion task per agency, then transform → validate → publish.

The schedule is production: every evening (``IPKPI_SCHEDULE``, default ``0 20 * * *``,
Asia/Shanghai) a run asks each agency for the months its release calendar says are due at that
instant — months not yet published, months that may still be re-issued or revised, change-feed
windows just closed (``ingest.calendar``) — so late months, re-issues and revisions reach
``published`` by themselves. When nothing new arrived, ``begin`` says "no change" and dbt, the gate
and the swap are skipped. ``ipkpi run --at`` replays an instant; ``ipkpi run --from --to`` triggers
one run whose data interval is an explicit range of months (conf ``{"range": "explicit"}``).

Thin on purpose: the logic is in ``ingest`` and ``ipkpi.pipeline.steps``, imported inside the tasks,
so this file parses fast with no network, database or heavy imports.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from ingest.registry import SOURCES
from ipkpi.platform.config import (
    INGEST_RETRY_DELAY_SECONDS,
    INGEST_TASK_RETRIES,
    TIMEZONE,
    schedule_cron,
    task_timeout_minutes,
)


def _scope():
    from ipkpi.pipeline.schedule import run_scope

    context = get_current_context()
    dag_run = context["dag_run"]
    return run_scope(
        context["data_interval_start"], context["data_interval_end"], dag_run.conf, getattr(dag_run, "run_after", None)
    )


def _on_failure(context) -> None:
    """A concise summary in the log, and to the `ipkpi_alerts` webhook when one is configured; a
    publication attempt whose step failed for good lets the next one begin."""
    from ipkpi.pipeline.steps import abandon_failed_attempt
    from ipkpi.platform.notify import on_failure

    on_failure(context)
    abandon_failed_attempt(context)


def _reschedule(holder) -> None:
    """Another run's publication attempt holds the lock: try again shortly, freeing the worker slot."""
    from airflow.sdk.exceptions import AirflowRescheduleException

    raise AirflowRescheduleException(pendulum.now("UTC").add(seconds=15))


def ingestion_task(source: str):
    @task(
        task_id=f"ingest_{source}",
        retries=INGEST_TASK_RETRIES,
        retry_delay=timedelta(seconds=INGEST_RETRY_DELAY_SECONDS),
        retry_exponential_backoff=True,
    )
    def ingest_source() -> dict:
        from ipkpi.pipeline.steps import ingest

        scope = _scope()
        return ingest(source, scope.months, get_current_context()["run_id"], instant=scope.instant)

    return ingest_source()


@dag(
    dag_id="ipkpi_pipeline",
    schedule=CronDataIntervalTimetable(schedule_cron(), timezone=TIMEZONE),
    start_date=pendulum.datetime(2018, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 1,
        "retry_delay": timedelta(seconds=10),
        "on_failure_callback": _on_failure,
        "execution_timeout": timedelta(minutes=task_timeout_minutes()),
    },
    tags=["ipkpi"],
    doc_md=__doc__,
)
def ipkpi_pipeline():
    @task.short_circuit
    def begin(ingested: list[dict]) -> str | None:
        """Open a publication attempt — or, when nothing changed since the current publication,
        say "no change" and skip the rest (the run still succeeds)."""
        from ipkpi.pipeline.steps import begin as begin_publication

        scope = _scope()
        return begin_publication(
            scope.describe(ingested), scope.instant, run_id=get_current_context()["run_id"], on_busy=_reschedule
        )

    @task
    def transform(publication_id: str) -> str:
        """dbt build: staging → intermediate → marts → the publication candidate."""
        from ipkpi.pipeline.steps import transform as run_transform

        run_transform(publication_id, get_current_context()["run_id"])
        return publication_id

    @task(retries=0)
    def validate(publication_id: str) -> str:
        """The quality gate (Great Expectations): an `error` blocks publication."""
        from ipkpi.pipeline.steps import validate as run_gate

        run_gate(publication_id)
        return publication_id

    @task
    def publish(publication_id: str) -> None:
        """Swap the validated candidate into `published`, atomically."""
        from ipkpi.pipeline.steps import publish as swap

        swap(publication_id)

    publication_id = begin([ingestion_task(source) for source in SOURCES])
    publish(validate(transform(publication_id)))


ipkpi_pipeline()
