"""Calendar helpers: Asia/Shanghai (fixed +08:00), month indices, working-day weights."""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

TZ = timezone(timedelta(hours=8))
UTC = timezone.utc

FIRST_YEAR = 2018
LAST_YEAR = 2025
# months are handled as integer indices: ym = year * 12 + (month - 1)


def ym(year: int, month: int) -> int:
    return year * 12 + month - 1


def ym_year(i: int) -> int:
    return i // 12


def ym_month(i: int) -> int:
    return i % 12 + 1


def ym_str(i: int) -> str:
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def ym_parse(s: str) -> int:
    """'2020-03' -> index. Raises ValueError on anything else."""
    if len(s) != 7 or s[4] != "-" or not (s[:4].isdigit() and s[5:].isdigit()):
        raise ValueError(f"bad month {s!r}")
    y, m = int(s[:4]), int(s[5:])
    if not 1 <= m <= 12:
        raise ValueError(f"bad month {s!r}")
    return ym(y, m)


def ym_of(d: date) -> int:
    return d.year * 12 + d.month - 1


FIRST_YM = ym(FIRST_YEAR, 1)
LAST_YM = ym(LAST_YEAR, 12)
HORIZON_END = datetime(LAST_YEAR + 1, 1, 1, tzinfo=TZ)  # no record event at or after this
HORIZON_LAST_DAY = date(LAST_YEAR, 12, 31)
REISSUE_DEADLINE = datetime(LAST_YEAR + 1, 6, 1, tzinfo=TZ)  # every re-issue happens before


def month_start(i: int) -> date:
    return date(i // 12, i % 12 + 1, 1)


def month_end(i: int) -> date:
    return month_start(i + 1) - timedelta(days=1)


def add_months(d, n: int):
    """The same day (clamped to the month's last day) and time n calendar months later."""
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return d.replace(year=y, month=m, day=min(d.day, last))


def month_start_dt(i: int) -> datetime:
    d = month_start(i)
    return datetime(d.year, d.month, 1, tzinfo=TZ)


def days_in_month(i: int) -> int:
    return (month_start(i + 1) - month_start(i)).days


# Spring Festival (Chinese New Year) dates
CNY = {
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
}


def day_weight(d: date) -> float:
    """Relative activity of a calendar day for an agency."""
    cny = CNY.get(d.year)
    if cny is not None and -1 <= (d - cny).days <= 6:
        return 0.04
    if d.month == 10 and d.day <= 7:
        return 0.08
    if d.month == 5 and d.day <= 3:
        return 0.25
    if d.weekday() >= 5:
        return 0.15
    return 1.0


@lru_cache(maxsize=None)
def _month_day_cdf(i: int):
    start = month_start(i)
    n = days_in_month(i)
    days = [start + timedelta(days=k) for k in range(n)]
    acc, cdf = 0.0, []
    for d in days:
        acc += day_weight(d)
        cdf.append(acc)
    return days, cdf


def pick_day(rng, i: int, lo: date | None = None, hi: date | None = None) -> date:
    """A day of month i weighted by working-day activity, optionally within [lo, hi]."""
    days, cdf = _month_day_cdf(i)
    if lo is None and hi is None:
        x = rng.random() * cdf[-1]
        return days[bisect.bisect_right(cdf, x)]
    a = 0 if lo is None or lo <= days[0] else (lo - days[0]).days
    b = len(days) - 1 if hi is None or hi >= days[-1] else (hi - days[0]).days
    if a > b:
        raise ValueError("empty day range")
    base = cdf[a - 1] if a > 0 else 0.0
    x = base + rng.random() * (cdf[b] - base)
    k = bisect.bisect_right(cdf, x, a, b + 1)
    return days[min(k, b)]


def pick_day_between(rng, lo: date, hi: date) -> date:
    """Weighted day in [lo, hi] (may span months)."""
    if hi < lo:
        raise ValueError("empty range")
    # pick a month first, weighted by its share of the range
    months = list(range(ym_of(lo), ym_of(hi) + 1))
    if len(months) == 1:
        return pick_day(rng, months[0], lo, hi)
    weights = []
    for i in months:
        days, cdf = _month_day_cdf(i)
        a = (lo - days[0]).days if lo > days[0] else 0
        b = (hi - days[0]).days if hi < days[-1] else len(days) - 1
        weights.append(cdf[b] - (cdf[a - 1] if a > 0 else 0.0))
    x = rng.random() * sum(weights)
    for i, w in zip(months, weights):
        if x < w:
            return pick_day(rng, i, lo, hi)
        x -= w
    return pick_day(rng, months[-1], lo, hi)


# Month seasonality: CNY dip, October holiday dip, December peak.
BASE_SEASON = [0.95, 0.86, 1.02, 1.00, 1.00, 1.03, 1.00, 0.97, 1.02, 0.90, 1.04, 1.22]


@lru_cache(maxsize=None)
def month_weights(year: int, profile: str = "default") -> tuple:
    w = list(BASE_SEASON)
    if profile == "closing":  # year-end closing push
        w[11] *= 1.25
        w[0] *= 0.95
    cny = CNY[year]
    w[cny.month - 1] *= 0.70
    if cny.month == 1 and cny.day >= 20:
        w[1] *= 0.88
    if year == 2020:  # epidemic: February and March were quiet
        w[1] *= 0.55
        w[2] *= 0.85
    return tuple(w)


def local_dt(d: date, minutes: int) -> datetime:
    """Datetime at `minutes` after local midnight of d (+08:00)."""
    return datetime(d.year, d.month, d.day, tzinfo=TZ) + timedelta(minutes=minutes)


def iso(dt: datetime) -> str:
    return dt.astimezone(TZ).isoformat(timespec="seconds")


def parse_iso(s: str) -> datetime:
    """ISO-8601 timestamp; naive values are read as +08:00. Raises ValueError."""
    if not isinstance(s, str) or not s or " " in s.strip() or s != s.strip():
        raise ValueError(f"bad timestamp {s!r}")
    t = s
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(s: str) -> datetime | None:
    try:
        dt = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt
