"""Shared helpers for the agency generators."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta

from ..config import (
    PUBLICATION_LAGS,
    PUBLICATION_LATE_EXTRA,
    PUBLICATION_LATE_RATE,
    REISSUE_MAX_MONTHS,
    REISSUE_MIN_DAYS,
)
from ..rng import rng_for
from ..timeutil import REISSUE_DEADLINE, TZ, add_months, month_end


class LRU:
    """A small thread-safe LRU cache whose values are built by a callable under a lock."""

    def __init__(self, maxsize: int = 64):
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key, build):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            value = build()
            self._data[key] = value
            if self.maxsize and len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            return value


def next_working_day(d: date) -> date:
    """d itself if Monday-Friday, else the following Monday."""
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def previous_working_day(d: date) -> date:
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def publication_lag(seed: int, agency: str, i: int) -> tuple:
    """(lag_days, late): the drawn lag after the last day of month i, before the move to a
    working day, and whether the month is one of the agency's late ones (config.PUBLICATION_LAGS)."""
    r = rng_for(seed, "pub", agency, i)
    lo, hi = PUBLICATION_LAGS[agency]
    lag = lo + r.randrange(hi - lo + 1)
    late = r.random() < PUBLICATION_LATE_RATE
    if late:
        xlo, xhi = PUBLICATION_LATE_EXTRA
        lag += xlo + r.randrange(xhi - xlo + 1)
    return lag, late


def publication_time(seed: int, agency: str, i: int) -> datetime:
    """When month i's file/document first comes out: `lag` days after the month's last day
    (the agency's rhythm, sometimes late), on a working day, between 09:00 and 16:00 +08:00."""
    lag, _ = publication_lag(seed, agency, i)
    d = next_working_day(month_end(i) + timedelta(days=lag))
    minutes = 9 * 60 + rng_for(seed, "pub-time", agency, i).randrange(7 * 60)
    return datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=minutes)


def reissue_time(seed: int, agency: str, i: int, first: datetime, months_later: int) -> datetime:
    """A re-issue in the `months_later`-th month (1..12) after the first publication:
    strictly more than REISSUE_MIN_DAYS days after it, at most REISSUE_MAX_MONTHS calendar
    months after it, on a working day between 09:00 and 17:00 +08:00, and before
    REISSUE_DEADLINE (a draw past the deadline is redrawn one month earlier)."""
    r = rng_for(seed, "reissue-time", agency, i)
    k = max(1, min(REISSUE_MAX_MONTHS, months_later))
    first_day = first.astimezone(TZ).date()
    earliest_day = first_day + timedelta(days=REISSUE_MIN_DAYS + 1)  # 00:00 of it is > first + 3 days
    latest = add_months(first, REISSUE_MAX_MONTHS)
    while k >= 1:
        lo = max(add_months(first_day, k - 1) + timedelta(days=1), earliest_day)  # > k-1 months after
        hi = add_months(first_day, k)
        d = lo + timedelta(days=r.randrange((hi - lo).days + 1))
        d = next_working_day(d)
        if d > hi:
            d = previous_working_day(hi)
        t = datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=9 * 60 + r.randrange(8 * 60))
        if t > latest:  # the last day itself, later in the day than the first publication
            d = previous_working_day(d - timedelta(days=1))
            t = datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=t.hour * 60 + t.minute)
        if t < REISSUE_DEADLINE:
            return t
        k -= 1
    d = next_working_day(earliest_day)
    return datetime(d.year, d.month, d.day, 10, tzinfo=TZ)
