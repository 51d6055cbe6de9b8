"""Helpers shared by the two change feeds (court, AMR cases): when a change is recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..timeutil import HORIZON_END, TZ, day_weight

_EPOCH = datetime(1970, 1, 1, tzinfo=TZ)
HORIZON_TS = int(HORIZON_END.timestamp())


def recorded_at(r, event: date, after_ts: int = 0) -> int:
    """Epoch seconds when a change that happened on `event` was recorded in the system.

    ~78 % the same working day, ~17 % one to six days later, ~5 % in the month-end batch run
    early on the 1st of the next month (00:01-01:59 +08:00, i.e. the previous month in UTC).
    Always after after_ts and before the end of the simulated range.
    """
    u = r.random()
    if u < 0.78:
        d = event
        minute = 8 * 60 + 30 + r.randrange(10 * 60)
    elif u < 0.95:
        d = event + timedelta(days=1 + r.randrange(6))
        while day_weight(d) < 0.5 and r.random() < 0.8:
            d += timedelta(days=1)
        minute = 8 * 60 + 30 + r.randrange(10 * 60)
    else:
        first = date(event.year + (event.month == 12), event.month % 12 + 1, 1)
        d = first
        minute = 1 + r.randrange(119)
    ts = int(datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp()) + minute * 60 + r.randrange(60)
    if ts <= after_ts:
        ts = after_ts + 60 + r.randrange(3600)
    if ts >= HORIZON_TS:
        ts = max(after_ts + 1, HORIZON_TS - 1 - r.randrange(600))
    return ts


def ts_iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, TZ).isoformat(timespec="seconds")


def money(cents):
    """A JSON number literal for an amount in 分 (None -> null)."""
    if cents is None:
        return "null"
    y, c = divmod(cents, 100)
    return str(y) if c == 0 else f"{y}.{c:02d}"
