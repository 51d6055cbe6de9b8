"""Market-regulation administrative enforcement cases (feed 4a): a monthly change feed.

Anchor: the month a case is closed. Each month holds the planned number of valid closed cases
per category and Σ fine_yuan exactly. How many cases closed early in a year were opened in the
previous one is planned too, which fixes each year's closure rate; cases opened late in 2025
and not closed by the end of the range are generated as pending. Traps: ~1 % revoked cases
(已撤销, some of them closed before being revoked: they leave every period), ~0.7 % unknown
region codes.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Dict, List

from ..regions import CITY, DISTRICT_WEIGHTS, UNKNOWN_CODES
from ..rng import allocate, amounts_in_cents, cum, rng_for, unit
from ..timeutil import (
    TZ,
    month_start,
    month_weights,
    pick_day,
    ym,
    ym_of,
    ym_year,
)
from .changefeed import money, recorded_at, ts_iso
from .common import LRU
from .plan import AMR_CARRY_2017, AMR_CATEGORIES, AMR_CLOSED, AMR_CLOSURE_RATE, AMR_FINES, AMR_MEAN_DAYS

FIRST_ANCHOR = ym(2018, 1)
LAST_ANCHOR = ym(2025, 12)
LOOKAHEAD = 9  # a case opened in month M is closed at most this many months later
REVOKE_RATE = 0.010
UNKNOWN_RATE = 0.007
CARRY_SPLIT = (0.55, 0.25, 0.12, 0.08)  # Jan..Apr share of last year's carry-over
PENDING_SPLIT = (0.07, 0.13, 0.25, 0.55)  # Sep..Dec 2025 share of cases still open at the end
FINE_SHARE = {
    "专利侵权纠纷行政裁决": 0.0,
    "假冒专利": 0.7,
    "商标侵权": 0.9,
    "商标假冒": 0.95,
    "地理标志侵权": 0.8,
    "其他": 0.5,
}
FINE_SCALE = {"假冒专利": 0.6, "商标侵权": 1.0, "商标假冒": 1.8, "地理标志侵权": 0.7, "其他": 0.5}
_DIST = list(DISTRICT_WEIGHTS)
_DIST_W = cum(DISTRICT_WEIGHTS.values())
FIELDS = (
    "case_id",
    "category",
    "opened_on",
    "closed_on",
    "status",
    "fine_yuan",
    "transferred_to_police",
    "online",
    "region_code",
    "updated_at",
)

# case tuple layout
(A_ID, A_CAT, A_OPENED, A_CLOSED, A_REVOKED, A_FINE, A_TRANSFER, A_ONLINE, A_REGION, A_TS) = range(10)
# A_TS: tuple of (ts, kind) with kind in 'opened', 'closed', 'revoked'


def _base_duration(r) -> float:
    u = r.random()
    if u < 0.55:
        return 1 + 19 * r.random()
    if u < 0.90:
        return 20 + 70 * r.random()
    return 90 + 150 * r.random()


class AmrData:
    def __init__(self, ds):
        self.ds = ds
        self._anchors = LRU(LOOKAHEAD + 4)
        self._months = LRU(16)
        self._index = LRU(LOOKAHEAD + 4)
        self._served = LRU(16)
        self._plan = None
        import threading

        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plan
    def plan(self):
        """Per anchor month: closed counts per category, fines (分), carry-ins; per year: carry."""
        with self._lock:
            if self._plan is None:
                self._plan = self._build_plan()
            return self._plan

    def _build_plan(self):
        s = self.ds.scale
        closed = {}  # ym -> [count per category]
        fines = {}  # ym -> 分
        carry_in = {}  # ym -> number of its cases opened in the previous year
        pending = {}  # ym (Sep-Dec 2025) -> number of cases opened then and never closed
        carry = {2017: AMR_CARRY_2017 * s}
        for year in range(2018, 2026):
            w = month_weights(year, "closing")
            per_cat = [allocate(AMR_CLOSED[year][c] * s, w) for c in range(len(AMR_CATEGORIES))]
            r = rng_for(self.ds.seed, "amr-year", year)
            fine_w = []
            for m in range(12):
                closed[ym(year, m + 1)] = [per_cat[c][m] for c in range(len(AMR_CATEGORIES))]
                fw = sum(
                    per_cat[c][m] * FINE_SHARE[AMR_CATEGORIES[c]] * FINE_SCALE.get(AMR_CATEGORIES[c], 0)
                    for c in range(len(AMR_CATEGORIES))
                )
                fine_w.append(fw * (0.85 + 0.3 * r.random()))
            for m, f in enumerate(allocate(AMR_FINES[year] * s, fine_w)):
                fines[ym(year, m + 1)] = f
            # carry-over into this year from the previous one, within Jan..Apr
            split = allocate(carry[year - 1], CARRY_SPLIT)
            for m, c in enumerate(split):
                cap = sum(closed[ym(year, m + 1)])
                if c > cap:
                    raise RuntimeError("carry-over exceeds the month's closings")
                carry_in[ym(year, m + 1)] = c
            total_closed = sum(AMR_CLOSED[year]) * s
            rate = AMR_CLOSURE_RATE[year]
            carry[year] = int((total_closed - carry[year - 1]) * (1 - rate) / rate)
        for m, c in zip(range(ym(2025, 9), ym(2026, 1)), allocate(carry[2025], PENDING_SPLIT)):
            pending[m] = c
        return {"closed": closed, "fines": fines, "carry_in": carry_in, "carry": carry, "pending": pending}

    def _n_trap(self, a: int, n: int, kind: str, rate: float) -> int:
        return int(n * rate + unit(self.ds.seed, "amr-trap", kind, a))

    # ------------------------------------------------------------------ one anchor month
    def anchor(self, a: int) -> List[tuple]:
        """Cases anchored at month a: closed in a (valid, unknown-region), revoked in a, or
        (Sep-Dec 2025) opened in a and still pending at the end of the range."""

        def build():
            if not FIRST_ANCHOR <= a <= LAST_ANCHOR:
                return []
            p = self.plan()
            year = ym_year(a)
            r = rng_for(self.ds.seed, "amr", self.ds.scale, a)
            counts = p["closed"][a]
            specs = []
            for c, n in enumerate(counts):
                specs += [("valid", AMR_CATEGORIES[c])] * n
            n_valid = len(specs)
            specs += [
                ("unknown", AMR_CATEGORIES[r.choices(range(6), cum_weights=(35, 55, 80, 92, 93, 100))[0]])
                for _ in range(self._n_trap(a, n_valid, "unknown", UNKNOWN_RATE))
            ]
            specs += [
                ("revoked", AMR_CATEGORIES[r.choices(range(6), cum_weights=(30, 50, 78, 90, 91, 100))[0]])
                for _ in range(self._n_trap(a, n_valid, "revoked", REVOKE_RATE))
            ]
            specs += [
                ("pending", AMR_CATEGORIES[r.choices(range(6), cum_weights=(50, 70, 85, 92, 93, 100))[0]])
                for _ in range(p["pending"].get(a, 0))
            ]
            r.shuffle(specs)
            valid_pos = [k for k, sp in enumerate(specs) if sp[0] == "valid"]
            carry_pos = set(r.sample(valid_pos, p["carry_in"].get(a, 0)))
            mean_scale = AMR_MEAN_DAYS[year] / 41.5
            jan1 = date(year, 1, 1)
            # fines over valid closed cases (exact month total)
            fine_pos = [k for k in valid_pos if r.random() < FINE_SHARE[specs[k][1]]]
            raws = [FINE_SCALE[specs[k][1]] * math.exp(r.gauss(0.0, 1.1)) for k in fine_pos]
            fines = dict(zip(fine_pos, amounts_in_cents(r, raws, p["fines"][a], min_yuan=500))) if fine_pos else {}
            if p["fines"][a] and not fine_pos:
                raise RuntimeError("no case to carry the month's fines")
            cases = []
            for k, (kind, cat) in enumerate(specs):
                revoked = None
                if kind == "pending":
                    opened = pick_day(r, a)
                    closed = None
                elif kind == "revoked":
                    revoked = pick_day(r, a)
                    opened = revoked - timedelta(days=2 + r.randrange(60))
                    closed = None
                    if r.random() < 0.3 and (revoked - opened).days > 3:
                        closed = opened + timedelta(days=1 + r.randrange((revoked - opened).days - 1))
                else:
                    closed = pick_day(r, a)
                    doy = (closed - jan1).days  # days since Jan 1 (0 on Jan 1)
                    if kind == "valid" and k in carry_pos:
                        d = doy + 1 + int(_base_duration(r) * mean_scale * 0.8)
                    else:
                        d = int(_base_duration(r) * mean_scale)
                        if kind == "valid" and d > doy:
                            for _ in range(4):
                                d = int(_base_duration(r) * mean_scale)
                                if d <= doy:
                                    break
                            else:
                                d = int(r.random() * (doy + 1))
                    d = min(d, 240)
                    opened = closed - timedelta(days=d)
                if kind == "valid":
                    fine = fines.get(k, 0)
                elif closed is not None and r.random() < FINE_SHARE[cat]:
                    fine = int(30000 * FINE_SCALE[cat] * math.exp(r.gauss(0, 1.0))) * 100
                else:
                    fine = 0
                transfer = r.random() < (0.10 if cat == "商标假冒" else 0.05 if cat == "假冒专利" else 0.025)
                online = r.random() < 0.12 + 0.025 * (year - 2018)
                if kind == "unknown":
                    region = r.choice(UNKNOWN_CODES)
                else:
                    region = CITY if r.random() < 0.15 else r.choices(_DIST, cum_weights=_DIST_W)[0]
                ts = [(recorded_at(r, opened), "opened")]
                if closed is not None:
                    ts.append((recorded_at(r, closed, ts[-1][0]), "closed"))
                if revoked is not None:
                    ts.append((recorded_at(r, revoked, ts[-1][0]), "revoked"))
                cases.append([None, cat, opened, closed, revoked, fine, transfer, online, region, tuple(ts)])
            # ids: NBSJ-<year opened>-<number>; numbers are unique across the whole range
            base = self._id_offset(a)
            order = sorted(range(len(cases)), key=lambda k: (cases[k][A_OPENED], k))
            for n, k in enumerate(order, start=1):
                cases[k][A_ID] = f"NBSJ-{cases[k][A_OPENED].year}-{base + n:06d}"
            return [tuple(c) for c in cases]

        return self._anchors.get(a, build)

    def _id_offset(self, a: int) -> int:
        """Case numbers of anchor month a start after this (an upper bound of earlier anchors' sizes)."""
        p = self.plan()
        off = 0
        for b in range(FIRST_ANCHOR, a):
            n = sum(p["closed"][b])
            off += n + self._n_trap(b, n, "unknown", UNKNOWN_RATE) + self._n_trap(b, n, "revoked", REVOKE_RATE)
            off += p["pending"].get(b, 0) + 2
        return off

    # ------------------------------------------------------------------ month feed
    def anchor_index(self, a: int) -> Dict[int, List[tuple]]:
        """Month -> cases of anchor a that may belong to it (any event or change in that month)."""

        def build():
            idx: Dict[int, List[tuple]] = {}
            for c in self.anchor(a):
                months = {ym_of(c[A_OPENED])}
                if c[A_CLOSED] is not None:
                    months.add(ym_of(c[A_CLOSED]))
                if c[A_REVOKED] is not None:
                    months.add(ym_of(c[A_REVOKED]))
                for ts, _ in c[A_TS]:
                    months.add(ym_of(datetime.fromtimestamp(ts, TZ).date()))
                for m in months:
                    idx.setdefault(m, []).append(c)
            return idx

        return self._index.get(a, build)

    def month_cases(self, m: int) -> List[tuple]:
        """Cases that may belong to month m (at some as_of), ordered by case_id."""

        def build():
            out = []
            for a in range(max(FIRST_ANCHOR, m - 1), min(LAST_ANCHOR, m + LOOKAHEAD) + 1):
                out.extend(self.anchor_index(a).get(m, ()))
            out.sort(key=lambda c: c[A_ID])
            return out

        return self._months.get(m, build)

    @staticmethod
    def state(c, as_of_ts: int):
        """The case as it stands at as_of (dict), and the months it belongs to then; None if unknown yet."""
        visible = [(ts, kind) for ts, kind in c[A_TS] if ts <= as_of_ts]
        if not visible:
            return None, set()
        kinds = {k for _, k in visible}
        months = {ym_of(c[A_OPENED])}
        for ts, _ in visible:
            months.add(ym_of(datetime.fromtimestamp(ts, TZ).date()))
        closed = c[A_CLOSED] if "closed" in kinds else None
        if closed is not None:
            months.add(ym_of(closed))
        if "revoked" in kinds:
            months.add(ym_of(c[A_REVOKED]))
            status = "已撤销"
        elif closed is not None:
            status = "已结案"
        else:
            status = "办理中"
        rec = {
            "case_id": c[A_ID],
            "category": c[A_CAT],
            "opened_on": c[A_OPENED].isoformat(),
            "closed_on": closed.isoformat() if closed else None,
            "status": status,
            "fine_yuan": c[A_FINE] if closed is not None else 0,
            "transferred_to_police": c[A_TRANSFER] if closed is not None else False,
            "online": c[A_ONLINE],
            "region_code": c[A_REGION],
            "updated_at": ts_iso(visible[-1][0]),
        }
        return rec, months

    def items(self, m: int, as_of: datetime) -> List[dict]:
        """The month's feed at as_of: every case opened, closed, revoked or changed in m."""
        if as_of < datetime(month_start(m + 1).year, month_start(m + 1).month, 1, tzinfo=TZ):
            return []  # the month is not over: not available yet
        cap = int(as_of.timestamp())
        out = []
        for c in self.month_cases(m):
            rec, months = self.state(c, cap)
            if rec is not None and m in months:
                out.append(rec)
        return out


def served_json(amr: "AmrData", m: int, as_of: datetime) -> List[bytes]:
    """The month's items as UTF-8 JSON, cached per (month, as_of): pages are slices of it."""
    key = (m, int(as_of.timestamp()))
    return amr._served.get(key, lambda: [record_json(x).encode("utf-8") for x in amr.items(m, as_of)])


def record_json(rec: dict) -> str:
    import json

    parts = []
    for k in FIELDS:
        val = rec[k]
        if k == "fine_yuan":
            parts.append(f'"{k}":{money(val)}')
        else:
            parts.append(f'"{k}":' + json.dumps(val, ensure_ascii=False))
    return "{" + ",".join(parts) + "}"
