"""IP pledge-financing registrations (feed 5), UTF-8 with BOM, LF.

Anchor: the registration month. Each month holds the planned count and Σ 融资金额 per
质押类型 exactly (valid, not 已撤销), plus traps: ~1 % voided (已撤销, usually first published
as 有效 and voided 0-2 months later), ~0.8 % invalid USCC check characters, ~0.5 % unknown
region codes. About 3/4 of registrations are released (已注销) 11-25 months later; the release
appears in that month's file. 2017 registrations exist so that releases arrive in 2018.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime, timedelta
from typing import List, Optional

from ..regions import CITY, DISTRICT_WEIGHTS, UNKNOWN_CODES
from ..rng import allocate, cum, rng_for, scale_to_total
from ..timeutil import (
    FIRST_YM,
    HORIZON_LAST_DAY,
    LAST_YM,
    month_end,
    month_weights,
    pick_day,
    ym,
    ym_month,
    ym_of,
    ym_year,
)
from . import uscc
from .common import LRU, publication_time
from .plan import PLEDGE_AMOUNTS, PLEDGE_COUNTS, PLEDGE_TYPES

HEADERS = [
    "登记编号",
    "登记日期",
    "质押类型",
    "出质人统一社会信用代码",
    "质权人",
    "融资金额（万元）",
    "登记状态",
    "是否首贷",
    "区县代码",
]
LENDERS = [
    "中国工商银行股份有限公司宁波市分行",
    "中国农业银行股份有限公司宁波市分行",
    "中国银行股份有限公司宁波市分行",
    "中国建设银行股份有限公司宁波市分行",
    "交通银行股份有限公司宁波分行",
    "宁波银行股份有限公司",
    "浙商银行股份有限公司宁波分行",
    "招商银行股份有限公司宁波分行",
    "兴业银行股份有限公司宁波分行",
    "中国邮政储蓄银行股份有限公司宁波分行",
    "杭州银行股份有限公司宁波分行",
    "宁波鄞州农村商业银行股份有限公司",
    "宁波通商银行股份有限公司",
    "上海浦东发展银行股份有限公司宁波分行",
    "中信银行股份有限公司宁波分行",
    "宁波市融资担保有限公司",
    "宁波余姚农村商业银行股份有限公司",
    "慈溪农村商业银行股份有限公司",
]
LENDER_W = cum([12, 10, 9, 10, 6, 14, 5, 6, 4, 4, 3, 5, 3, 3, 3, 1.5, 1.5, 1.5])
FIRST_GEN_YM = ym(2017, 1)
MAX_LAG = 26  # months between registration and its last status change
_DIST = list(DISTRICT_WEIGHTS)
_DIST_W = cum(DISTRICT_WEIGHTS.values())
# division codes a USCC may embed for an enterprise of a district (legacy codes included)
_DIVISIONS = {
    "330212": ("330212", "330212", "330204"),
    "330213": ("330213", "330283"),
    "330203": ("330203", "330203", "330201"),
    CITY: ("330201", "330200", "330215"),
}
PREFIX = {"专利权质押": "Y", "商标权质押": "Z", "著作权质押": "C", "混合质押": "H"}


def enterprise(seed: int, k: int):
    """(uscc, region) of enterprise number k of the city's pool."""
    r = rng_for(seed, "enterprise", k)
    region = CITY if r.random() < 0.05 else r.choices(_DIST, cum_weights=_DIST_W)[0]
    division = r.choice(_DIVISIONS.get(region, (region,)))
    return uscc.make(division, r), region


class FinanceData:
    def __init__(self, ds):
        self.ds = ds
        self._reg = LRU(MAX_LAG + 8)
        self._files = LRU(32)
        self._years = LRU(16)
        self.pool = 4000 * ds.scale

    def _year_plan(self, year: int):
        def build():
            s = self.ds.scale
            r = rng_for(self.ds.seed, "finance-year", year)
            w = month_weights(year)
            counts = []  # per type: 12 month counts
            units = []  # per type: 12 month amounts in units of 100 元
            for t in range(4):
                c = allocate(PLEDGE_COUNTS[year][t] * s, w)
                counts.append(c)
                u = allocate(PLEDGE_AMOUNTS[year][t] * s // 100, [x * (0.8 + 0.4 * r.random()) for x in c])
                units.append(u)
            return counts, units

        return self._years.get(year, build)

    # ------------------------------------------------------------------ registrations
    def registrations(self, i: int) -> List[dict]:
        """Every registration dated in month i with its lifecycle."""

        def build():
            seed = self.ds.seed
            year, month = ym_year(i), ym_month(i)
            counts, units = self._year_plan(year)
            r = rng_for(seed, "finance", self.ds.scale, i)
            recs = []
            for t, ptype in enumerate(PLEDGE_TYPES):
                n = counts[t][month - 1]
                if not n:
                    continue
                raws = [math.exp(r.gauss(0.0, 1.0)) for _ in range(n)]
                amounts = scale_to_total(raws, units[t][month - 1], min_each=min(1000, units[t][month - 1] // n))
                for a in amounts:
                    recs.append({"type": ptype, "units": a, "trap": None})
            base = len(recs)
            for trap, rate in (("void", 0.010), ("bad_uscc", 0.008), ("unknown_region", 0.005)):
                for _ in range(int(base * rate + r.random())):
                    ptype = r.choices(PLEDGE_TYPES, cum_weights=(40, 85, 88, 100))[0]
                    recs.append(
                        {"type": ptype, "units": int(500 * math.exp(r.gauss(0.0, 1.0)) * 10) + 100, "trap": trap}
                    )
            r.shuffle(recs)
            first_p = 0.42 - 0.02 * (year - 2018)
            for k, x in enumerate(recs, start=1):
                d = pick_day(r, i)
                ent = int(self.pool * r.random() ** 1.6)
                code, region = enterprise(seed, ent)
                if x["trap"] == "bad_uscc":
                    code = uscc.corrupt(code, r)
                if x["trap"] == "unknown_region":
                    region = r.choice(UNKNOWN_CODES)
                x.update(
                    {
                        "登记编号": f"{PREFIX[x['type']]}{year}33{month:02d}{k:05d}",
                        "登记日期": d,
                        "出质人统一社会信用代码": code,
                        "质权人": r.choices(LENDERS, cum_weights=LENDER_W)[0],
                        "是否首贷": "是" if r.random() < first_p else "否",
                        "区县代码": region,
                    }
                )
                events = [(d, "有效")]
                if x["trap"] == "void":
                    v = min(d + timedelta(days=r.randrange(0, 70)), HORIZON_LAST_DAY)
                    events.append((v, "已撤销"))
                else:
                    u = r.random()
                    if u < 0.72:
                        rel = d + timedelta(days=330 + r.randrange(75))
                    elif u < 0.82:
                        rel = d + timedelta(days=120 + r.randrange(200))
                    elif u < 0.90:
                        rel = d + timedelta(days=700 + r.randrange(80))
                    else:
                        rel = None
                    if rel is not None and rel <= HORIZON_LAST_DAY:
                        events.append((rel, "已注销"))
                x["events"] = tuple(events)
            # compact tuples: (no, date, type, uscc, lender, units, first, region, events)
            return [
                (
                    x["登记编号"],
                    x["登记日期"],
                    x["type"],
                    x["出质人统一社会信用代码"],
                    x["质权人"],
                    x["units"],
                    x["是否首贷"],
                    x["区县代码"],
                    x["events"],
                )
                for x in recs
            ]

        return self._reg.get(i, build)

    @staticmethod
    def _row(x: tuple, at: date) -> dict:
        no, day, ptype, code, lender, u, first, region, events = x
        status = "有效"
        for d, s in events:
            if d <= at:
                status = s
        return {
            "登记编号": no,
            "登记日期": day.isoformat(),
            "质押类型": ptype,
            "出质人统一社会信用代码": code,
            "质权人": lender,
            "融资金额（万元）": f"{u // 100}.{u % 100:02d}",
            "登记状态": status,
            "是否首贷": first,
            "区县代码": region,
        }

    def file_rows(self, i: int) -> List[dict]:
        """Rows of the file for month i: registrations dated in i and status changes made in i."""
        end = month_end(i)
        out = []
        for b in range(max(FIRST_GEN_YM, i - MAX_LAG), i + 1):
            for x in self.registrations(b):
                if b == i or any(ym_of(d) == i for d, _ in x[8][1:]):
                    out.append(self._row(x, end))
        out.sort(key=lambda row: (row["登记日期"], row["登记编号"]))
        return out

    def published_at(self, i: int) -> Optional[datetime]:
        if not FIRST_YM <= i <= LAST_YM:
            return None
        return publication_time(self.ds.seed, "finance", i)

    def file_bytes(self, i: int) -> bytes:
        def build():
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(HEADERS)
            for row in self.file_rows(i):
                w.writerow([row[h] for h in HEADERS])
            return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")

        return self._files.get(i, build)
