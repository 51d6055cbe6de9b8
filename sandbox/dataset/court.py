"""Ningbo Intermediate Court IP tribunal cases (feed 1): a change feed of case versions.

Anchor: the filing month. Each month holds the planned number of cases per case_type and Σ
claim_amount of its 民事 cases exactly, plus ~0.6 % cases with a court_code that
reference/regions.csv does not know (trap). A case has a version when filed, when closed and,
for some first-instance cases, when appealed; ~2 % get a correction in between (right_type
changed). Versions are recorded the same day, days later, or early on the 1st of the next month.
"""

from __future__ import annotations

import bisect
import json
import math
from datetime import datetime, timedelta
from typing import List, Tuple

from ..regions import CITY, UNKNOWN_CODES
from ..rng import allocate, amounts_in_cents, cum, rng_for, unit
from ..timeutil import HORIZON_LAST_DAY, TZ, month_weights, pick_day, ym, ym_month, ym_of, ym_year
from .changefeed import money, recorded_at, ts_iso
from .common import LRU
from .plan import COURT_APPEAL_RATE, COURT_CIVIL_CLAIM, COURT_PUNITIVE_RATE, COURT_RECEIVED

TYPES = ("民事", "刑事", "行政")
FIRST_GEN_YM = ym(2017, 1)
LAST_GEN_YM = ym(2025, 12)
MAX_LAG = 17  # months from filing to the last version
TRAP_RATE = 0.006
BASIC_COURTS = ("330203", "330205", "330206", "330211", "330212", "330213", "330225", "330226", "330281", "330282")
BASIC_W = cum([10, 6, 9, 4, 14, 3, 3, 3, 9, 11])
RIGHTS = {
    "民事": (
        ("商标", "著作权", "专利", "不正当竞争", "商业秘密", "植物新品种", "其他"),
        cum([36, 30, 21, 8, 1.3, 0.7, 3]),
    ),
    "刑事": (("商标", "著作权", "商业秘密", "专利", "其他"), cum([80, 11, 5, 1, 3])),
    "行政": (("商标", "专利", "著作权", "其他"), cum([42, 40, 6, 12])),
}
LEVELS = {"民事": cum([84, 14, 2]), "刑事": cum([88, 12, 0]), "行政": cum([80, 18, 2])}
LEVEL_NAMES = ("一审", "二审", "再审")
CODE = {
    ("民事", "一审"): "知民初",
    ("民事", "二审"): "知民终",
    ("民事", "再审"): "知民再",
    ("刑事", "一审"): "知刑初",
    ("刑事", "二审"): "知刑终",
    ("刑事", "再审"): "知刑再",
    ("行政", "一审"): "知行初",
    ("行政", "二审"): "知行终",
    ("行政", "再审"): "知行再",
}
METHODS = {
    "民事": (("判决", "调解", "撤诉", "驳回", "移送", "其他"), cum([38, 22, 33, 4, 1.5, 1.5])),
    "刑事": (("判决", "撤诉", "移送", "其他"), cum([92, 3, 1, 4])),
    "行政": (("判决", "驳回", "撤诉", "移送", "其他"), cum([40, 29, 25, 1, 5])),
}
FIELDS = (
    "case_no",
    "case_type",
    "trial_level",
    "right_type",
    "filed_date",
    "closed_date",
    "closing_method",
    "claim_amount",
    "award_amount",
    "punitive_damages",
    "appealed",
    "foreign_related",
    "court_code",
    "updated_at",
)

# case tuple layout (compact: many of these live in memory at large scales)
(
    C_NO,
    C_TYPE,
    C_LEVEL,
    C_RIGHT,
    C_RIGHT0,
    C_FILED,
    C_CLOSED,
    C_METHOD,
    C_CLAIM,
    C_AWARD,
    C_PUNITIVE,
    C_APPEALED,
    C_FOREIGN,
    C_COURT,
    C_TS,
) = range(15)
# C_TS: tuple of (ts, kind) with kind in 'filed', 'corrected', 'closed', 'appealed'


def court_abbr(code: str) -> str:
    return "浙02" if code == CITY else "浙02" + code[-2:]


def _duration(r, ctype: str, level: str) -> int:
    u = r.random()
    if level != "一审":
        return 25 + int(r.random() * 110)
    if ctype == "民事":
        if u < 0.32:
            return 7 + int(r.random() * 55)
        if u < 0.82:
            return 60 + int(r.random() * 125)
        return 185 + int(r.random() * 260)
    if ctype == "刑事":
        return 30 + int(r.random() * 120)
    return 45 + int(r.random() * 200)


class CourtData:
    def __init__(self, ds):
        self.ds = ds
        self._months = LRU(MAX_LAG + 12)
        self._windows = LRU(24)
        self._years = LRU(16)
        # the JSON of a window's versions, rendered once and sliced into pages (a run asks for a
        # window page by page, a benchmark twice): ~400 bytes a version, 13 MB a month at ×100
        self._served = LRU(16)

    def _year_plan(self, year: int):
        def build():
            s = self.ds.scale
            w = month_weights(year)
            counts = [allocate(COURT_RECEIVED[year][t] * s, w) for t in range(3)]
            r = rng_for(self.ds.seed, "court-year", year)
            claims = allocate(COURT_CIVIL_CLAIM[year] * s, [c * (0.8 + 0.4 * r.random()) for c in counts[0]])
            offsets = []
            acc = 0
            for m in range(12):
                offsets.append(acc)
                n = sum(counts[t][m] for t in range(3))
                acc += n + self._n_trap(ym(year, m + 1), n) + 3
            return counts, claims, offsets

        return self._years.get(year, build)

    def _n_trap(self, i: int, n: int) -> int:
        return int(n * TRAP_RATE + unit(self.ds.seed, "court-trap", i))

    # ------------------------------------------------------------------ one filing month
    def month(self, i: int):
        """(cases, index) for filing month i; index maps a month to [(ts, case position, kind)]."""

        def build():
            if not FIRST_GEN_YM <= i <= LAST_GEN_YM:
                return [], {}
            year, mon = ym_year(i), ym_month(i)
            counts, claims, offsets = self._year_plan(year)
            r = rng_for(self.ds.seed, "court", self.ds.scale, i)
            specs = []
            for t, ctype in enumerate(TYPES):
                specs += [(ctype, False)] * counts[t][mon - 1]
            n = len(specs)
            specs += [
                (TYPES[r.choices(range(3), cum_weights=(80, 89, 100))[0]], True) for _ in range(self._n_trap(i, n))
            ]
            r.shuffle(specs)
            days = sorted(pick_day(r, i) for _ in specs)
            civil_valid = [k for k, (ct, trap) in enumerate(specs) if ct == "民事" and not trap]
            with_claim = [k for k in civil_valid if r.random() >= 0.04]
            raws = [math.exp(r.gauss(0.0, 1.45)) for _ in with_claim]
            amounts = amounts_in_cents(r, raws, claims[mon - 1], min_yuan=2000) if with_claim else []
            claim_of = dict(zip(with_claim, amounts))
            seq0 = offsets[mon - 1]
            cases = []
            for k, (ctype, trap) in enumerate(specs):
                level = LEVEL_NAMES[r.choices(range(3), cum_weights=LEVELS[ctype])[0]]
                rights, rw = RIGHTS[ctype]
                right = r.choices(rights, cum_weights=rw)[0]
                if trap:
                    court = r.choice(UNKNOWN_CODES)
                elif level != "一审":
                    court = CITY
                elif ctype == "民事":
                    central = right in ("专利", "植物新品种", "商业秘密") or r.random() < 0.3
                    court = CITY if central else r.choices(BASIC_COURTS, cum_weights=BASIC_W)[0]
                elif ctype == "刑事":
                    court = CITY if r.random() < 0.2 else r.choices(BASIC_COURTS, cum_weights=BASIC_W)[0]
                else:
                    court = CITY if r.random() < 0.45 else r.choices(BASIC_COURTS, cum_weights=BASIC_W)[0]
                filed = days[k]
                if ctype == "民事":
                    claim = (
                        claim_of.get(k)
                        if not trap
                        else (None if r.random() < 0.05 else int(150000 * math.exp(r.gauss(0, 1.4))) * 100)
                    )
                else:
                    claim = None
                closed = filed + timedelta(days=_duration(r, ctype, level))
                methods, mw = METHODS[ctype]
                method = r.choices(methods, cum_weights=mw)[0]
                if closed > HORIZON_LAST_DAY:
                    closed, method = None, None
                award = None
                punitive = False
                if closed is not None and ctype == "民事" and method in ("判决", "调解") and claim:
                    award = int(claim * (0.08 + 0.6 * r.random())) // 100 * 100
                    punitive = method == "判决" and r.random() < COURT_PUNITIVE_RATE[year] * 4
                appealed = None
                appeal_day = None
                if closed is not None and level == "一审" and method != "移送":
                    rate = COURT_APPEAL_RATE[year] if ctype == "民事" else (0.1 if ctype == "刑事" else 0.25)
                    if method == "撤诉":
                        rate = 0.0
                    appealed = r.random() < rate * (1.6 if method == "判决" else 1.0)
                    if appealed:
                        appeal_day = closed + timedelta(days=10 + r.randrange(16))
                        if appeal_day > HORIZON_LAST_DAY:
                            appealed, appeal_day = False, None
                foreign = r.random() < (0.045 if ctype == "民事" else 0.01)
                right0 = right
                ts = []
                t0 = recorded_at(r, filed)
                ts.append((t0, "filed"))
                if r.random() < 0.02:
                    right0 = "其他" if right != "其他" else "商标"
                    corr = filed + timedelta(days=3 + r.randrange(40))
                    if closed is None or corr < closed:
                        ts.append((recorded_at(r, corr, ts[-1][0]), "corrected"))
                    else:
                        right0 = right
                if closed is not None:
                    ts.append((recorded_at(r, closed, ts[-1][0]), "closed"))
                if appeal_day is not None:
                    ts.append((recorded_at(r, appeal_day, ts[-1][0]), "appealed"))
                seq = seq0 + k + 1
                case_no = f"({filed.year}){court_abbr(court)}{CODE[(ctype, level)]}{seq}号"
                cases.append(
                    (
                        case_no,
                        ctype,
                        level,
                        right,
                        right0,
                        filed,
                        closed,
                        method,
                        claim,
                        award,
                        punitive,
                        appealed,
                        foreign,
                        court,
                        tuple(ts),
                    )
                )
            index = {}
            for pos, c in enumerate(cases):
                for ts, kind in c[C_TS]:
                    m = ym_of(datetime.fromtimestamp(ts, TZ).date())
                    index.setdefault(m, []).append((ts, pos, kind))
            return cases, index

        return self._months.get(i, build)

    # ------------------------------------------------------------------ versions
    @staticmethod
    def version(c, kind: str, ts: int) -> dict:
        """The case as it stood right after the change `kind`."""
        closed = kind in ("closed", "appealed")
        right = c[C_RIGHT0] if kind == "filed" and c[C_RIGHT0] != c[C_RIGHT] else c[C_RIGHT]
        if closed:
            appealed = c[C_APPEALED]
            if appealed is True and kind == "closed":
                appealed = False
        else:
            appealed = None
        return {
            "case_no": c[C_NO],
            "case_type": c[C_TYPE],
            "trial_level": c[C_LEVEL],
            "right_type": right,
            "filed_date": c[C_FILED].isoformat(),
            "closed_date": c[C_CLOSED].isoformat() if closed else None,
            "closing_method": c[C_METHOD] if closed else None,
            "claim_amount": c[C_CLAIM],  # 分; serialised as 元
            "award_amount": c[C_AWARD] if closed else None,
            "punitive_damages": bool(c[C_PUNITIVE]) if closed else False,
            "appealed": appealed,
            "foreign_related": c[C_FOREIGN],
            "court_code": c[C_COURT],
            "updated_at": ts_iso(ts),
        }

    def window_month(self, m: int) -> List[tuple]:
        """All versions recorded in calendar month m (local), sorted by (ts, case_no)."""

        def build():
            out = []
            for b in range(max(FIRST_GEN_YM, m - MAX_LAG), min(LAST_GEN_YM, m) + 1):
                cases, index = self.month(b)
                for ts, pos, kind in index.get(m, ()):
                    out.append((ts, cases[pos][C_NO], b, pos, kind))
            out.sort()
            return out

        return self._windows.get(m, build)

    @staticmethod
    def _bounds(since: datetime, before: datetime, as_of: datetime) -> Tuple[int, int]:
        """[lo, hi) in epoch seconds: the versions a window shows at as_of."""
        lo = int(math.ceil(since.timestamp()))
        hi = int(math.ceil(before.timestamp()))  # ts < before
        return lo, min(hi, int(as_of.timestamp()) + 1)

    def versions_between(self, since: datetime, before: datetime, as_of: datetime) -> List[tuple]:
        """Sorted (ts, case_no, birth month, position, kind) with since <= ts < before and ts <= as_of."""
        return self._versions_in(*self._bounds(since, before, as_of))

    def served_json(self, since: datetime, before: datetime, as_of: datetime) -> List[bytes]:
        """The window's versions as UTF-8 JSON, in feed order: pages are slices of it. Cached per
        window as seen at as_of (the same request always gets the same bytes)."""
        lo, hi = self._bounds(since, before, as_of)
        return self._served.get(
            (lo, hi), lambda: [record_json(self.materialise(v)).encode("utf-8") for v in self._versions_in(lo, hi)]
        )

    def _versions_in(self, lo: int, hi: int) -> List[tuple]:
        if hi <= lo:
            return []
        first = ym_of(datetime.fromtimestamp(lo, TZ).date())
        last = ym_of(datetime.fromtimestamp(hi - 1, TZ).date())
        first = max(first, FIRST_GEN_YM)
        last = min(last, LAST_GEN_YM + MAX_LAG)
        out = []
        for m in range(first, last + 1):
            vs = self.window_month(m)
            a = bisect.bisect_left(vs, (lo,))
            b = bisect.bisect_left(vs, (hi,))
            out.extend(vs[a:b])
        return out

    def materialise(self, v: tuple) -> dict:
        ts, _, b, pos, kind = v
        cases, _ = self.month(b)
        return self.version(cases[pos], kind, ts)


def record_json(rec: dict) -> str:
    parts = []
    for k in FIELDS:
        val = rec[k]
        if k in ("claim_amount", "award_amount"):
            parts.append(f'"{k}":{money(val)}')
        else:
            parts.append(f'"{k}":' + json.dumps(val, ensure_ascii=False))
    return "{" + ",".join(parts) + "}"
