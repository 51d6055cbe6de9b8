"""The release calendar: when each feed publishes a month, which months a scheduled run asks for,
and which months are overdue (SOURCES.md, Settled details, "Publication timing" and "Re-issues").

Each connector declares its ``Rhythm``; everything here is derived from it and from what the raw
layer already holds (``raw.source_months``), at the run's *instant* — the scheduled run's data
interval end, so a replay of an instant (``ipkpi run --at``) asks exactly what the schedule asked.

A month is **due** at instant T (its month has ended by T, and it is not before the deployment's
first month) when
- we do not hold it yet (never asked, or the agency had not published it), or
- it may still change: we have not asked since the instant it *settles*, i.e.
  ``agency_published_at + revisable_months + settle_days`` (files and the statistics return:
  first publication + 12 months, the re-issue window; change feeds: the month's end + a few
  days, for versions recorded late into the window).
So a month is asked every day until it is published, re-checked cheaply (conditional GET,
checksum, revision) while it can be re-issued, asked once more after that, and never again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime

import pendulum

TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Rhythm:
    """How an agency publishes one feed's months."""

    lag_days: int  # a month is normally out this many days after it ends; later is overdue
    revisable_months: int  # re-issues/revisions come up to this long after first publication
    settle_days: int = 7  # one last check this long after the month can no longer change

    def with_overrides(self, source: str) -> "Rhythm":
        """``IPKPI_LAG_DAYS_<SOURCE>`` (e.g. ``IPKPI_LAG_DAYS_CUSTOMS=30``) overrides the lag."""
        value = os.environ.get(f"IPKPI_LAG_DAYS_{source.upper()}")
        if value is None:
            return self
        if not value.isascii() or not value.isdigit():
            raise ValueError(f"IPKPI_LAG_DAYS_{source.upper()} must be a whole number of days, not {value!r}")
        return replace(self, lag_days=int(value))


def rhythm_of(source) -> Rhythm:
    return source.rhythm.with_overrides(source.name)


def month_start(period: str) -> pendulum.DateTime:
    return pendulum.from_format(period, "YYYY-MM", tz=TIMEZONE)


def month_end(period: str) -> pendulum.DateTime:
    """The first instant after the month (when a change-feed month is complete)."""
    return month_start(period).add(months=1)


def due_at(period: str, rhythm: Rhythm) -> pendulum.DateTime:
    """When the month is overdue if the agency has still not published it."""
    return month_end(period).add(days=rhythm.lag_days)


def settles_at(agency_published_at: datetime, rhythm: Rhythm) -> pendulum.DateTime:
    return pendulum.instance(agency_published_at).add(months=rhythm.revisable_months, days=rhythm.settle_days)


def ended_months(first_month: str, instant: datetime) -> list[str]:
    """Every month from ``first_month`` whose end is at or before ``instant``."""
    cursor, months = month_start(first_month), []
    while cursor.add(months=1) <= pendulum.instance(instant):
        months.append(cursor.format("YYYY-MM"))
        cursor = cursor.add(months=1)
    return months


@dataclass(frozen=True)
class MonthHeld:
    """What the raw layer says of one source month (``raw.source_months``)."""

    status: str  # available | not_published
    agency_published_at: datetime | None
    last_checked_at: datetime | None


def is_due(period: str, held: MonthHeld | None, rhythm: Rhythm) -> bool:
    if held is None or held.status != "available" or held.agency_published_at is None:
        return True
    if held.last_checked_at is None:
        return True
    return held.last_checked_at < settles_at(held.agency_published_at, rhythm)


def held_months(conn, source: str) -> dict[str, MonthHeld]:
    return {
        period: MonthHeld(status, published, checked)
        for period, status, published, checked in conn.execute(
            "SELECT period, status, agency_published_at, last_checked_at FROM raw.source_months WHERE source = %s",
            (source,),
        )
    }


def due_months(conn, source, first_month: str, instant: datetime) -> list[str]:
    """The months a scheduled run at ``instant`` asks ``source`` for, oldest first."""
    held = held_months(conn, source.name)
    rhythm = rhythm_of(source)
    return [p for p in ended_months(first_month, instant) if is_due(p, held.get(p), rhythm)]


def overdue_months(conn, source, first_month: str, instant: datetime) -> list[tuple[str, datetime]]:
    """(month, due at) of every month past its expected publication that we still do not hold."""
    held = held_months(conn, source.name)
    rhythm = rhythm_of(source)
    out = []
    for period in ended_months(first_month, instant):
        state = held.get(period)
        if (state is None or state.status != "available") and due_at(period, rhythm) < pendulum.instance(instant):
            out.append((period, due_at(period, rhythm)))
    return out


def default_agency_published_at(period: str, last_modified: str | None) -> datetime:
    """When the agency published what we received: the file's ``Last-Modified`` when it has one,
    else the month's end (a change-feed month is complete, hence published, when it ends)."""
    if last_modified:
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            pass
    return month_end(period)


def compact(months: list[str]) -> str:
    """2018-01…2018-12, 2020-03 — a readable list of months."""
    if not months:
        return "none"
    runs, first, last = [], months[0], months[0]
    for month in months[1:]:
        following = month_start(last).add(months=1).format("YYYY-MM")
        if month == following:
            last = month
            continue
        runs.append(first if first == last else f"{first}…{last}")
        first = last = month
    runs.append(first if first == last else f"{first}…{last}")
    return ", ".join(runs)
