"""ipkpi_whitepaper — the annual white paper, once the year's December data is published.

Scheduled on the 1st of every month (Asia/Shanghai, 08:00): it targets the calendar year before
the run's date and writes the paper only when that year is completely published (every source
month, every KPI complete in `published`) and the paper of the current publication is not
already written; otherwise the task is skipped, saying which sources and months are missing.
Triggered manually with ``{"year": 2020}`` it writes that year's paper (a year with holes fails,
naming them).

Thin on purpose: the logic is in ``ipkpi.whitepaper``, imported inside the task.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task


@dag(
    dag_id="ipkpi_whitepaper",
    schedule="0 8 1 * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"year": Param(None, type=["null", "integer"], description="year of the paper (default: last year)")},
    tags=["ipkpi"],
    doc_md=__doc__,
)
def ipkpi_whitepaper():
    @task
    def whitepaper() -> dict:
        from airflow.exceptions import AirflowSkipException

        from ipkpi.whitepaper import IncompleteYear, already_written, generate

        context = get_current_context()
        requested = context["params"].get("year")
        year = int(requested) if requested else context["logical_date"].in_timezone("Asia/Shanghai").year - 1
        try:
            if not requested and (current := already_written(year)):
                raise AirflowSkipException(f"the {year} paper of publication {current} is already written")
            result = generate(year, record=True)
        except IncompleteYear as exc:
            if requested:
                raise
            raise AirflowSkipException(str(exc)) from exc
        return {
            "year": year,
            "html": str(result["html"]),
            "pdf": str(result["pdf"]),
            "publication_id": result["publication_id"],
            "seconds": round(result["timings"]["total"], 1),
        }

    whitepaper()


ipkpi_whitepaper()
