"""The production schedule and what one run covers.

Two kinds of DAG run, one code path each:
- a **scheduled instant** (the scheduler's own runs, Airflow backfills, a manual trigger, and
  ``ipkpi run --at``): the run's instant is its data interval end, and each source asks for the
  months the release calendar says are due then (``ingest.calendar.due_months``): late months,
  re-issues and revisions converge by themselves;
- an **explicit range** (``ipkpi run --from A --to B``, conf ``{"range": "explicit"}``): exactly
  the months of its data interval, whatever the calendar says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pendulum

from ipkpi.platform.config import TIMEZONE, schedule_cron

EXPLICIT = "explicit"


@dataclass(frozen=True)
class RunScope:
    instant: datetime  # the clock the run reads the agencies on
    months: list[str] | None  # explicit months, or None: the release calendar decides per source

    @property
    def is_explicit(self) -> bool:
        return self.months is not None

    def describe(self, ingested: list[dict]) -> str:
        """The publication log's ``periods``: the explicit range, or the instant and what it loaded."""
        from ingest.calendar import compact

        if self.is_explicit:
            return compact(self.months)
        loaded = sorted({month for result in ingested for month in result["loaded"]})
        return (
            f"scheduled {pendulum.instance(self.instant).in_timezone(TIMEZONE).isoformat()}: loaded {compact(loaded)}"
        )


def run_scope(
    interval_start: datetime, interval_end: datetime, conf: dict | None, run_after: datetime | None = None
) -> RunScope:
    from ipkpi.pipeline.steps import months_in_interval

    if (conf or {}).get("range") == EXPLICIT:
        return RunScope(run_after or datetime.now(timezone.utc), months_in_interval(interval_start, interval_end))
    return RunScope(interval_end, None)


def interval_at(instant: datetime, cron: str | None = None) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """The data interval of the scheduled run the deployed schedule starts at ``instant``: the one
    ending at the last tick at or before it (the scheduler's CronDataIntervalTimetable)."""
    from croniter import croniter

    local = pendulum.instance(instant).in_timezone(TIMEZONE)
    ticks = croniter(cron or schedule_cron(), local.add(seconds=1))  # a tick at `instant` itself counts
    end = pendulum.instance(ticks.get_prev(datetime)).in_timezone(TIMEZONE)
    start = pendulum.instance(ticks.get_prev(datetime)).in_timezone(TIMEZONE)
    return start, end


def next_tick(instant: datetime, cron: str | None = None) -> pendulum.DateTime:
    """The first instant of the schedule at or after ``instant`` (when its run would see it)."""
    from croniter import croniter

    local = pendulum.instance(instant).in_timezone(TIMEZONE)
    return pendulum.instance(
        croniter(cron or schedule_cron(), local.subtract(seconds=1)).get_next(datetime)
    ).in_timezone(TIMEZONE)
