"""Shared helpers for the agency generators."""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta

from ..rng import rng_for
from ..timeutil import REISSUE_DEADLINE, TZ, month_start


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


def publication_time(seed: int, agency: str, i: int) -> datetime:
    """When month i's file/document first comes out: a working day mid-month i+1."""
    r = rng_for(seed, "pub", agency, i)
    d0 = month_start(i + 1)
    day = 10 + r.randrange(9)
    d = date(d0.year, d0.month, day)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    minutes = 9 * 60 + r.randrange(7 * 60)
    return datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=minutes)


def reissue_time(seed: int, agency: str, i: int, first: datetime, months_later: int) -> datetime:
    """A re-issue `months_later` (1..12) after the first publication, before the deadline."""
    r = rng_for(seed, "reissue-time", agency, i)
    months_later = max(1, min(12, months_later))
    while True:
        m = first.month - 1 + months_later
        y = first.year + m // 12
        d = date(y, m % 12 + 1, 1 + r.randrange(24))
        while d.weekday() >= 5:
            d += timedelta(days=1)
        t = datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=9 * 60 + r.randrange(8 * 60))
        if t < REISSUE_DEADLINE and t > first + timedelta(days=3):
            return t
        months_later -= 1
        if months_later < 1:
            return first + timedelta(days=4)
