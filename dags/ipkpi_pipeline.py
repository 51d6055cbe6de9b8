"""ipkpi_pipeline — the airflow DAG: one ingestion task per agency, then transform → validate → publish.

Monthly data intervals in Asia/Shanghai: the scheduled run for March covers
[03-01T00:00+08:00, 04-01T00:00+08:00). A run may also span many months (``ipkpi run`` triggers
one run whose data interval is the whole range): each ingestion task batches every month of its
interval, so a 96-month backfill costs one run's overhead, not 96.

Thin on purpose: the logic is in ``ingest`` and ``ipkpi.pipeline``, imported inside the tasks,
so this file parses fast with no network, database or heavy imports.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from ingest.registry import SOURCES


def _months() -> list[str]:
    from ipkpi.pipeline import months_in_interval

    context = get_current_context()
    return months_in_interval(context["data_interval_start"], context["data_interval_end"])


def _on_failure(context) -> None:
    """A concise summary in the log, and to the `ipkpi_alerts` webhook when one is configured."""
    from ipkpi.notify import on_failure

    on_failure(context)


def ingestion_task(source: str):
    @task(task_id=f"ingest_{source}", retries=3, retry_delay=timedelta(seconds=20), retry_exponential_backoff=True)
    def ingest_source() -> dict:
        from ipkpi.pipeline import ingest

        return ingest(source, _months(), get_current_context()["run_id"])

    return ingest_source()


@dag(
    dag_id="ipkpi_pipeline",
    schedule=CronDataIntervalTimetable("0 0 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2018, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=10), "on_failure_callback": _on_failure},
    tags=["ipkpi"],
    doc_md=__doc__,
)
def ipkpi_pipeline():
    @task
    def begin() -> str:
        """Open a publication attempt in the log for the run's months."""
        from ipkpi.pipeline import begin as begin_publication

        months = _months()
        return begin_publication(f"{months[0]}…{months[-1]}" if months else "")

    @task
    def transform(publication_id: str) -> str:
        """dbt build: staging → intermediate → marts → the publication candidate."""
        from ipkpi.pipeline import transform as run_transform

        run_transform(publication_id)
        return publication_id

    @task(retries=0)
    def validate(publication_id: str) -> str:
        """The quality gate (Great Expectations): an `error` blocks publication."""
        from ipkpi.pipeline import validate as run_gate

        run_gate(publication_id)
        return publication_id

    @task
    def publish(publication_id: str) -> None:
        """Swap the validated candidate into `published`, atomically."""
        from ipkpi.pipeline import publish as swap

        swap(publication_id)

    ingested = [ingestion_task(source) for source in SOURCES]
    publication_id = begin()
    ingested >> publication_id
    publish(validate(transform(publication_id)))


ipkpi_pipeline()
