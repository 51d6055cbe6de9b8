"""An independent oracle: the KPI figures of KPIS.md computed directly from what the feeds serve.

It reads the dataset only through its truth API (the records as served, in their served
form), applies the record semantics of SOURCES.md (latest state wins by largest updated_at /
latest file / highest revision; revoked AMR cases, 放行 customs rows and 已撤销 pledges count
nowhere; quarantined rows — unknown region, invalid USCC check character, district row above the
city row, a statistics document whose ytd decreases — count nowhere) and the KPI rules of
KPIS.md. The warehouse's published figures are compared with these.

    from sandbox import Dataset
    from sandbox.oracle import compute
    o = compute(Dataset())                      # as_of defaults to the sandbox default
    o.value("patent_grants_total", "2020")      # city (330200), year grain
    o.value("police_cases_filed", "2020-03", "330212")
    o.breakdown("court_cases_received", "2020", "case_type")
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, getcontext
from operator import itemgetter
from typing import Dict, Optional

from .dataset import Dataset, _as_of
from .dataset import uscc as uscc_mod
from .regions import CITY, VALID
from .timeutil import FIRST_YEAR, LAST_YEAR, month_end, parse_iso, ym

getcontext().prec = 40
HUNDRED = Decimal(100)
PATENT = ("专利侵权纠纷行政裁决", "假冒专利")
TRADEMARK = ("商标侵权", "商标假冒")
STAT_FLOWS = (
    "patent_grants_invention",
    "patent_grants_utility",
    "patent_grants_design",
    "pct_applications",
    "copyright_registrations",
    "rights_assistance_cases",
    "patent_pre_examinations",
    "mediation_cases_closed",
    "mediation_cases_succeeded",
)
STAT_STOCKS = (
    "invention_patents_in_force",
    "high_value_invention_patents_in_force",
    "trademarks_in_force",
    "madrid_registrations_in_force",
    "geographical_indications",
    "well_known_trademarks",
    "standard_compliant_entities",
    "advantage_enterprises_national",
)
# The contract's enumerations (SOURCES.md) of every dimension the mart splits by (MART.md
# published.kpi_breakdown): each split has a row per member and period; a member without records
# is 0 for a count or sum and None for a rate or mean (no denominator).
MEMBERS = {
    "case_type": ("民事", "刑事", "行政"),
    "right_type": ("专利", "商标", "著作权", "商业秘密", "植物新品种", "不正当竞争", "其他"),
    "category": ("专利侵权纠纷行政裁决", "假冒专利", "商标侵权", "商标假冒", "地理标志侵权", "其他"),
    "offence": (
        "假冒注册商标罪",
        "销售假冒注册商标的商品罪",
        "非法制造、销售非法制造的注册商标标识罪",
        "假冒专利罪",
        "侵犯著作权罪",
        "销售侵权复制品罪",
        "侵犯商业秘密罪",
        "为境外窃取、刺探、收买、非法提供商业秘密罪",
    ),
    "channel": ("货运", "邮递", "快件", "旅检"),
    "direction": ("进口", "出口"),
    "pledge_type": ("专利权质押", "商标权质押", "著作权质押", "混合质押"),
}
# KPIs whose value is a quotient (a rate, a mean, a per-capita ratio): no finite decimal holds most
# of them, so they are compared to a stated precision; every other KPI is a count or a sum of
# exact decimals (money in 元, statistics as reported) and is compared exactly.
QUOTIENTS = frozenset(
    {
        "court_civil_acceptance_rate",
        "court_avg_trial_days",
        "amr_closure_rate",
        "amr_avg_case_days",
        "mediation_success_rate",
        "high_value_patents_per_10k",
    }
)
STAT_KPIS_DIRECT = (
    "invention_patents_in_force",
    "patent_grants_invention",
    "pct_applications",
    "trademarks_in_force",
    "madrid_registrations_in_force",
    "geographical_indications",
    "well_known_trademarks",
    "copyright_registrations",
    "standard_compliant_entities",
    "advantage_enterprises_national",
    "rights_assistance_cases",
    "patent_pre_examinations",
    "mediation_cases_succeeded",
)


def _d(s: str) -> date:
    """A date in YYYY-MM-DD or YYYY/M/D."""
    if "/" in s:
        y, m, d = s.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(s)


def _periods(d: date):
    return (f"{d.year:04d}", f"{d.year:04d}-{d.month:02d}")


def _grain(period: str) -> str:
    return "year" if len(period) == 4 else "month"


def _period_end(period: str) -> date:
    if len(period) == 4:
        return date(int(period), 12, 31)
    y, m = int(period[:4]), int(period[5:])
    return month_end(ym(y, m))


def round_half_up(v, places: int = 0) -> Decimal:
    q = Decimal(1).scaleb(-places)
    return Decimal(v).quantize(q, rounding=ROUND_HALF_UP)


class Oracle:
    def __init__(self, dataset: Dataset, as_of=None, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR):
        self.ds = dataset
        self.as_of = _as_of(as_of)
        self.years = list(range(first_year, last_year + 1))
        self.periods = [f"{y}" for y in self.years] + [f"{y}-{m:02d}" for y in self.years for m in range(1, 13)]
        self.values: Dict[tuple, object] = {}
        self.breakdowns: Dict[tuple, object] = {}
        self.quarantine = Counter()  # (source, reason) -> rows
        self.blocking = []  # bad statistics documents: (period, indicator, region)
        self._court()
        self._amr()
        self._police()
        self._customs()
        self._finance()
        self._stats()

    # ------------------------------------------------------------------ access
    def value(self, kpi: str, period: str, region: str = CITY):
        return self.values.get((kpi, _grain(period), period, region))

    def prev_value(self, kpi: str, period: str, region: str = CITY):
        prev = str(int(period[:4]) - 1) + period[4:]
        return self.value(kpi, prev, region)

    def growth(self, kpi: str, period: str, region: str = CITY) -> Optional[Decimal]:
        v, p = self.value(kpi, period, region), self.prev_value(kpi, period, region)
        if v is None or p is None or p == 0:
            return None
        return (Decimal(v) / Decimal(p) - 1) * HUNDRED

    def breakdown(self, kpi: str, period: str, dimension: str, region: str = CITY) -> dict:
        out = {}
        for (k, g, p, r, dim, member), v in self.breakdowns.items():
            if k == kpi and p == period and r == region and dim == dimension:
                out[member] = v
        return out

    def sum_years(self, kpi: str, years, region: str = CITY):
        vals = [self.value(kpi, str(y), region) for y in years]
        return None if any(v is None for v in vals) else sum(vals)

    # ------------------------------------------------------------------ helpers
    def _set(self, kpi, period, region, value):
        self.values[(kpi, _grain(period), period, region)] = value

    def _split(self, kpi, period, dimension, member, value):
        self.breakdowns[(kpi, _grain(period), period, CITY, dimension, member)] = value

    def _splits(self, kpi, dims, found, empty):
        """A split row for every period and every member of each dimension (``empty`` where none)."""
        for p, dim, member in found:
            if member not in MEMBERS[dim]:
                raise ValueError(f"{kpi}: {dim} {member!r} is not in the contract's enumeration")
        for p in self.periods:
            for dim in dims or ():
                for member in MEMBERS[dim]:
                    self._split(kpi, p, dim, member, found.get((p, dim, member), empty))

    def _count_kpi(self, kpi, records, date_of, regions=VALID, region_of=None, weight=None, dims=None, filt=None):
        """Counts (or sums of weight) of records per period of date_of, city + districts; city
        splits by each of ``dims`` (dimension -> member of a record)."""
        acc = defaultdict(lambda: 0)
        bd = defaultdict(lambda: 0)
        for rec in records:
            if filt is not None and not filt(rec):
                continue
            d = date_of(rec)
            if d is None:
                continue
            w = 1 if weight is None else weight(rec)
            reg = region_of(rec) if region_of else None
            for p in _periods(d):
                acc[(p, CITY)] += w
                if reg is not None and reg != CITY:
                    acc[(p, reg)] += w
                for dim, fn in (dims or {}).items():
                    bd[(p, dim, fn(rec))] += w
        for p in self.periods:
            for reg in regions:
                self._set(kpi, p, reg, acc.get((p, reg), 0))
        self._splits(kpi, dims, bd, 0)

    def _ratio_kpi(self, kpi, records, date_of, num, den=lambda r: True, region_of=None, mean_of=None, dims=None):
        """Share (×100) of num among den, or the mean of mean_of, per period, city + districts and
        city splits by ``dims``; None when empty."""
        n = defaultdict(lambda: 0)
        k = defaultdict(lambda: 0)
        for rec in records:
            d = date_of(rec)
            if d is None or not den(rec):
                continue
            reg = region_of(rec) if region_of else None
            for p in _periods(d):
                keys = [(p, CITY)] + ([(p, reg)] if reg and reg != CITY else [])
                keys += [(p, dim, fn(rec)) for dim, fn in (dims or {}).items()]
                x = mean_of(rec, p) if mean_of else (1 if num(rec, p) else 0)
                for key in keys:
                    k[key] += 1
                    n[key] += x
        ratios = {}
        for key, count in k.items():
            v = Decimal(n[key]) / Decimal(count)
            ratios[key] = v if mean_of else v * HUNDRED
        for p in self.periods:
            for reg in VALID:
                self._set(kpi, p, reg, ratios.get((p, reg)))
        self._splits(kpi, dims, {key: v for key, v in ratios.items() if len(key) == 3}, None)

    # ------------------------------------------------------------------ courts
    def _court(self):
        latest = {}
        for v in self.ds.court_all_versions(self.as_of):
            ts = parse_iso(v["updated_at"])
            cur = latest.get(v["case_no"])
            if cur is None or ts > cur[0]:
                latest[v["case_no"]] = (ts, v)
        cases = []
        for ts, v in latest.values():
            if v["court_code"] not in VALID:
                self.quarantine[("court", "unknown_region")] += 1
                continue
            cases.append(v)
        self.court_cases = cases

        def filed(c):
            return date.fromisoformat(c["filed_date"])

        def closed(c):
            return date.fromisoformat(c["closed_date"]) if c["closed_date"] else None

        reg = itemgetter("court_code")
        dims = {"case_type": lambda c: c["case_type"], "right_type": lambda c: c["right_type"]}
        self._count_kpi("court_cases_received", cases, filed, region_of=reg, dims=dims)
        self._count_kpi("court_cases_closed", cases, closed, region_of=reg, dims=dims)
        self._count_kpi(
            "court_civil_claim_amount",
            cases,
            filed,
            region_of=reg,
            dims=dims,
            weight=lambda c: Decimal(c["claim_amount"] or 0),
            filt=lambda c: c["case_type"] == "民事",
        )
        self._ratio_kpi(
            "court_civil_acceptance_rate",
            cases,
            closed,
            num=lambda c, p: c["appealed"] is False,
            den=lambda c: c["case_type"] == "民事" and c["trial_level"] == "一审" and c["appealed"] is not None,
            region_of=reg,
            dims=dims,
        )
        self._ratio_kpi(
            "court_avg_trial_days",
            cases,
            closed,
            num=None,
            region_of=reg,
            dims=dims,
            mean_of=lambda c, p: (closed(c) - filed(c)).days,
        )
        self._count_kpi(
            "court_punitive_damages_cases",
            cases,
            closed,
            region_of=reg,
            dims=dims,
            filt=lambda c: c["punitive_damages"] is True,
        )

    # ------------------------------------------------------------------ AMR cases
    def _amr(self):
        latest = {}
        for y in self.years:
            for m in range(1, 13):
                for v in self.ds.amr_cases(f"{y}-{m:02d}", self.as_of):
                    ts = parse_iso(v["updated_at"])
                    cur = latest.get(v["case_id"])
                    if cur is None or ts > cur[0]:
                        latest[v["case_id"]] = (ts, v)
        cases = []
        for ts, v in latest.values():
            if v["region_code"] not in VALID:
                self.quarantine[("amr", "unknown_region")] += 1
                continue
            if v["status"] == "已撤销":
                continue
            cases.append(v)
        self.amr_cases = cases
        reg = itemgetter("region_code")

        def opened(c):
            return date.fromisoformat(c["opened_on"])

        def closed(c):
            return date.fromisoformat(c["closed_on"]) if c["status"] == "已结案" and c["closed_on"] else None

        dims = {"category": lambda c: c["category"]}
        self._count_kpi(
            "amr_patent_cases_closed", cases, closed, region_of=reg, dims=dims, filt=lambda c: c["category"] in PATENT
        )
        self._count_kpi(
            "amr_trademark_cases_closed",
            cases,
            closed,
            region_of=reg,
            dims=dims,
            filt=lambda c: c["category"] in TRADEMARK,
        )
        self._count_kpi("amr_cases_closed", cases, closed, region_of=reg, dims=dims)
        self._count_kpi("amr_fines", cases, closed, region_of=reg, dims=dims, weight=lambda c: Decimal(c["fine_yuan"]))
        self._ratio_kpi(
            "amr_closure_rate",
            cases,
            opened,
            region_of=reg,
            dims=dims,
            num=lambda c, p: closed(c) is not None and closed(c) <= _period_end(p),
        )
        self._ratio_kpi(
            "amr_avg_case_days",
            cases,
            closed,
            num=None,
            region_of=reg,
            dims=dims,
            mean_of=lambda c, p: (closed(c) - opened(c)).days,
        )
        self._count_kpi(
            "amr_transfers_to_police",
            cases,
            opened,
            region_of=reg,
            dims=dims,
            filt=lambda c: c["transferred_to_police"] is True,
        )

    # ------------------------------------------------------------------ police
    def _police(self):
        latest = {}
        for y in self.years:
            for m in range(1, 13):
                rows = self.ds.police_rows(f"{y}-{m:02d}", self.as_of)
                for row in rows or []:
                    latest[row["案件编号"]] = row  # the latest file wins
        cases = []
        for row in latest.values():
            if row["区县代码"] not in VALID:
                self.quarantine[("police", "unknown_region")] += 1
                continue
            cases.append(
                {
                    "filed": _d(row["立案日期"]),
                    "solved": _d(row["破案日期"]) if row["破案日期"] else None,
                    "offence": row["案由"],
                    "amount": Decimal(row["涉案金额（元）"].replace(",", "")),
                    "suspects": int(row["打处人数"]),
                    "source": row["线索来源"],
                    "region": row["区县代码"],
                }
            )
        self.police_cases = cases
        reg = itemgetter("region")
        dims = {"offence": lambda c: c["offence"]}
        self._count_kpi("police_cases_filed", cases, lambda c: c["filed"], region_of=reg, dims=dims)
        self._count_kpi("police_cases_solved", cases, lambda c: c["solved"], region_of=reg, dims=dims)
        self._count_kpi(
            "police_suspects", cases, lambda c: c["solved"], region_of=reg, dims=dims, weight=lambda c: c["suspects"]
        )
        self._count_kpi(
            "police_amount_involved",
            cases,
            lambda c: c["filed"],
            region_of=reg,
            dims=dims,
            weight=lambda c: c["amount"],
        )
        self._count_kpi(
            "police_cases_from_admin",
            cases,
            lambda c: c["filed"],
            region_of=reg,
            dims=dims,
            filt=lambda c: c["source"].startswith("行政移送"),
        )

    # ------------------------------------------------------------------ customs
    def _customs(self):
        rows = []
        for y in self.years:
            for m in range(1, 13):
                for row in self.ds.customs_rows(f"{y}-{m:02d}", self.as_of) or []:
                    if row["处置状态"] == "放行":
                        continue
                    cell = row["案值_元"] / 10000.0  # the float the workbook cell holds
                    wan = Decimal(repr(round(cell, 4))).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                    rows.append(
                        {
                            "date": row["查获日期"],
                            "items": row["数量（件）"],
                            "value": wan * 10000,
                            "channel": row["渠道"],
                            "direction": row["进出境"],
                        }
                    )
        self.customs_rows = rows
        when = itemgetter("date")
        dims = {"channel": lambda r: r["channel"], "direction": lambda r: r["direction"]}
        self._count_kpi("customs_seizure_batches", rows, when, regions=(CITY,), dims=dims)
        self._count_kpi("customs_seizure_items", rows, when, regions=(CITY,), dims=dims, weight=lambda r: r["items"])
        self._count_kpi("customs_seizure_value", rows, when, regions=(CITY,), dims=dims, weight=lambda r: r["value"])

    # ------------------------------------------------------------------ finance
    def _finance(self):
        latest = {}
        for y in self.years:
            for m in range(1, 13):
                for row in self.ds.finance_rows(f"{y}-{m:02d}", self.as_of) or []:
                    latest[row["登记编号"]] = row
        regs = []
        for row in latest.values():
            if row["区县代码"] not in VALID:
                self.quarantine[("finance", "unknown_region")] += 1
                continue
            if not uscc_mod.is_valid(row["出质人统一社会信用代码"]):
                self.quarantine[("finance", "invalid_uscc")] += 1
                continue
            if row["登记状态"] == "已撤销":
                continue
            regs.append(
                {
                    "date": date.fromisoformat(row["登记日期"]),
                    "type": row["质押类型"],
                    "amount": Decimal(row["融资金额（万元）"]) * 10000,
                    "uscc": row["出质人统一社会信用代码"],
                    "first": row["是否首贷"] == "是",
                    "region": row["区县代码"],
                }
            )
        self.pledges = regs
        reg = itemgetter("region")
        when = itemgetter("date")
        dims = {"pledge_type": lambda r: r["type"]}
        self._count_kpi("ip_pledge_amount", regs, when, region_of=reg, dims=dims, weight=lambda r: r["amount"])
        self._count_kpi("ip_pledge_registrations", regs, when, region_of=reg, dims=dims)
        self._count_kpi("ip_pledge_first_loans", regs, when, region_of=reg, dims=dims, filt=lambda r: r["first"])
        ents = defaultdict(set)
        for r in regs:
            for p in _periods(r["date"]):
                ents[(p, CITY)].add(r["uscc"])
                if r["region"] != CITY:
                    ents[(p, r["region"])].add(r["uscc"])
                ents[(p, "pledge_type", r["type"])].add(r["uscc"])
        for p in self.periods:
            for reg_ in VALID:
                self._set("ip_pledge_enterprises", p, reg_, len(ents.get((p, reg_), ())))
        self._splits(
            "ip_pledge_enterprises", dims, {key: len(found) for key, found in ents.items() if len(key) == 3}, 0
        )

    # ------------------------------------------------------------------ statistics return
    def _stats(self):
        docs = {}
        for y in self.years:
            for m in range(1, 13):
                doc = self.ds.amr_statistics(f"{y}-{m:02d}", self.as_of)
                if doc is not None:
                    docs[(y, m)] = doc
        # rows of good documents: values[(indicator, region)][(y, m)]
        vals = defaultdict(dict)
        prev_doc_vals = {}
        for y, m in sorted(docs):
            doc = docs[(y, m)]
            city = {}
            rows = []
            for row in doc["rows"]:
                if row["region"] not in VALID:
                    self.quarantine[("statistics", "unknown_region")] += 1
                    continue
                rows.append(row)
                if row["region"] == CITY:
                    city[row["indicator"]] = row["value"]
            good_rows = []
            for row in rows:
                if (
                    row["region"] != CITY
                    and row["indicator"] != "patent_intensive_industry_va_share"
                    and row["indicator"] in city
                    and Decimal(str(row["value"])) > Decimal(str(city[row["indicator"]]))
                ):
                    self.quarantine[("statistics", "district_exceeds_city")] += 1
                    continue
                good_rows.append(row)
            bad = None
            if m > 1 and (y, m - 1) in prev_doc_vals:
                before = prev_doc_vals[(y, m - 1)]
                for row in good_rows:
                    key = (row["indicator"], row["region"])
                    if row["basis"] == "ytd" and key in before and Decimal(str(row["value"])) < before[key]:
                        bad = (f"{y}-{m:02d}", row["indicator"], row["region"])
                        break
            this = {(r["indicator"], r["region"]): Decimal(str(r["value"])) for r in good_rows}
            prev_doc_vals[(y, m)] = this
            if bad:
                self.blocking.append(bad)
                continue
            for key, v in this.items():
                vals[key][(y, m)] = v
        self.stat_values = vals

        def month_value(ind, reg, y, m):
            return vals.get((ind, reg), {}).get((y, m))

        def month_flow(ind, reg, y, m):
            cur = month_value(ind, reg, y, m)
            if cur is None:
                return None
            if m == 1:
                return cur
            prev = month_value(ind, reg, y, m - 1)
            return None if prev is None else cur - prev

        def year_flow(ind, reg, y):
            flows = [month_flow(ind, reg, y, m) for m in range(1, 13)]
            return None if any(f is None for f in flows) else sum(flows)

        def get(ind, reg, period):
            y = int(period[:4])
            if ind in STAT_FLOWS:
                return year_flow(ind, reg, y) if len(period) == 4 else month_flow(ind, reg, y, int(period[5:]))
            if ind in STAT_STOCKS:
                return month_value(ind, reg, y, 12 if len(period) == 4 else int(period[5:]))
            if len(period) == 4:  # annual
                return month_value(ind, reg, y, 12)
            return None

        def put(kpi, period, reg, v):
            if v is not None:
                if (
                    isinstance(v, Decimal)
                    and v == v.to_integral_value()
                    and kpi
                    not in (
                        "high_value_patents_per_10k",
                        "mediation_success_rate",
                        "patent_intensive_industry_va_share",
                    )
                ):
                    v = int(v)
                self._set(kpi, period, reg, v)

        for p in self.periods:
            for reg in VALID:
                for kpi in STAT_KPIS_DIRECT:
                    put(kpi, p, reg, get(kpi, reg, p))
                if len(p) == 4:
                    put("patent_intensive_industry_va_share", p, reg, get("patent_intensive_industry_va_share", reg, p))
                parts = [
                    get(k, reg, p) for k in ("patent_grants_invention", "patent_grants_utility", "patent_grants_design")
                ]
                if all(x is not None for x in parts):
                    put("patent_grants_total", p, reg, sum(parts))
                closed, succ = get("mediation_cases_closed", reg, p), get("mediation_cases_succeeded", reg, p)
                if closed is not None and succ is not None and closed != 0:
                    put("mediation_success_rate", p, reg, succ / closed * HUNDRED)
                hv = get("high_value_invention_patents_in_force", reg, p)
                pop = month_value("resident_population", reg, int(p[:4]), 12)
                if hv is not None and pop:
                    put("high_value_patents_per_10k", p, reg, hv / pop)


def compute(dataset: Optional[Dataset] = None, as_of=None) -> Oracle:
    return Oracle(dataset or Dataset(), as_of)


# ---------------------------------------------------------------------------- the seeds' actuals
def _r(v, places):
    return None if v is None else round_half_up(v, places)


def seed_actual_checks(o: Oracle):
    """[(label, oracle value (display), stated, ok)] for every actual of /work/shared/seeds/README.md."""
    yrs = (2018, 2019, 2020)
    out = []

    def chk(label, value, stated, ok):
        out.append((label, value, stated, bool(ok)))

    v = o.sum_years("court_cases_received", yrs)
    chk("court_cases_received 2018-2020", v, "5,054", v == 5054)
    by = Counter()
    for y in yrs:
        by.update(o.breakdown("court_cases_received", str(y), "case_type"))
    chk(
        "court_cases_received by case_type 2018-2020",
        dict(by),
        "民事 4,092 / 刑事 409 / 行政 553",
        (by["民事"], by["刑事"], by["行政"]) == (4092, 409, 553),
    )
    v = o.sum_years("court_civil_claim_amount", yrs)
    chk("court_civil_claim_amount 2018-2020 (万元)", _r(v / 10000, 0), "133,000万元", _r(v / 10000, 0) == 133000)
    v = o.value("amr_patent_cases_closed", "2020")
    chk("amr_patent_cases_closed 2020", v, "1,765", v == 1765)
    v = o.value("amr_trademark_cases_closed", "2020")
    chk("amr_trademark_cases_closed 2020", v, "454", v == 454)
    v = o.value("amr_fines", "2020")
    chk("amr_fines 2020 (万元)", _r(v / 10000, 0), "1,358万元", _r(v / 10000, 0) == 1358)
    v = o.value("amr_closure_rate", "2020")
    chk("amr_closure_rate 2020 (%)", _r(v, 2), "≥ 95 %", v >= 95)
    for kpi, stated in (("police_cases_filed", 217), ("police_cases_solved", 191), ("police_suspects", 279)):
        v = o.value(kpi, "2020")
        chk(f"{kpi} 2020", v, f"{stated}", v == stated)
    v = o.value("police_amount_involved", "2020")
    chk(
        "police_amount_involved 2020 (亿元, rounded down)",
        v / 100000000,
        "5.13亿余元",
        Decimal(513000000) <= v < Decimal(514000000),
    )
    v = o.value("police_cases_solved", "2019")
    chk("police_cases_solved 2019", v, "164", v == 164)
    v = o.sum_years("customs_seizure_batches", yrs)
    chk("customs_seizure_batches 2018-2020", v, "1,774", v == 1774)
    v = o.sum_years("customs_seizure_items", yrs)
    chk(
        "customs_seizure_items 2018-2020 (万件)",
        _r(Decimal(v) / 10000, 1),
        "5,231.1万件",
        _r(Decimal(v) / 10000, 1) == Decimal("5231.1"),
    )
    v = o.sum_years("customs_seizure_value", yrs)
    chk(
        "customs_seizure_value 2018-2020 (亿元)",
        _r(v / 100000000, 1),
        "约1.8亿元",
        _r(v / 100000000, 1) == Decimal("1.8"),
    )
    for kpi, stated, growth, places in (
        ("patent_grants_total", 60575, "35.28", 2),
        ("invention_patents_in_force", 30551, "27.77", 2),
        ("pct_applications", 677, "89.1", 1),
        ("madrid_registrations_in_force", 1166, "10.10", 2),
        ("geographical_indications", 55, "14.58", 2),
        ("well_known_trademarks", 99, "10", 0),
    ):
        v, g = o.value(kpi, "2020"), o.growth(kpi, "2020")
        chk(
            f"{kpi} 2020 (growth %)",
            (v, _r(g, places)),
            f"{stated:,} (+{growth} %)",
            v == stated and g is not None and _r(g, places) == Decimal(growth),
        )
    v, g = o.value("trademarks_in_force", "2020"), o.growth("trademarks_in_force", "2020")
    chk(
        "trademarks_in_force 2020 (growth %)",
        (v, _r(g, 2)),
        "> 320,000 (+47.03 %)",
        v > 320000 and _r(g, 2) == Decimal("47.03"),
    )
    v, g = o.value("copyright_registrations", "2020"), o.growth("copyright_registrations", "2020")
    chk(
        "copyright_registrations 2020 (growth %)",
        (v, _r(g, 0)),
        "5,300余 (+55 %)",
        5300 <= v <= 5399 and _r(g, 0) == 55,
    )
    v = o.value("standard_compliant_entities", "2020")
    chk("standard_compliant_entities 2020", v, "502", v == 502)
    v = o.value("ip_pledge_amount", "2019")
    chk("ip_pledge_amount 2019 (亿元)", _r(v / 100000000, 0), "28亿元", _r(v / 100000000, 0) == 28)
    v = o.value("ip_pledge_amount", "2020")
    chk("ip_pledge_amount 2020 (亿元)", _r(v / 100000000, 2), "64.17亿元", _r(v / 100000000, 2) == Decimal("64.17"))
    v = o.breakdown("ip_pledge_amount", "2020", "pledge_type").get("专利权质押")
    chk("ip_pledge_amount 2020 专利权质押 (亿元)", _r(v / 100000000, 0), "26亿元", _r(v / 100000000, 0) == 26)
    v, rate = o.value("mediation_cases_succeeded", "2019"), o.value("mediation_success_rate", "2019")
    chk(
        "mediation_cases_succeeded / success rate 2019",
        (v, _r(rate, 1)),
        "395 / 67.1 %",
        v == 395 and _r(rate, 1) == Decimal("67.1"),
    )
    return out


def resolve_targets(o: Oracle, targets_csv: str) -> dict:
    """{(kpi, year): (comparator, target)} for the city at year grain (KPIS.md Targets): a `year`
    target applies to its year, a `from_year_on` norm to its year and every later one; the relative
    target (0.9*2022) is resolved against the oracle's 2022 value (None when there is none)."""
    import csv

    out = {}
    with open(targets_csv, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            kpi, year, scope, cmp_ = row["kpi_code"], int(row["target_year"]), row["scope"], row["comparator"]
            t = row["target_value"]
            if t.startswith("0.9*"):
                base = o.value(kpi, t[4:])
                target = None if base is None else Decimal("0.9") * Decimal(base)
            else:
                target = Decimal(t)
            for y in [year] if scope == "year" else [y for y in o.years if y >= year]:
                out[(kpi, y)] = (cmp_, target)
    return out


def target_checks(o: Oracle, targets_csv: str):
    """[(kpi, year, comparator, target, value, met)] for the targets of targets.csv (years 2022, 2025
    and the standing norms from their year on)."""
    out = []
    for (kpi, y), (cmp_, target) in resolve_targets(o, targets_csv).items():
        v = o.value(kpi, str(y))
        if v is None or target is None:
            met = None
        else:
            met = Decimal(v) >= target if cmp_ == ">=" else Decimal(v) <= target
        out.append((kpi, y, cmp_, target, v, met))
    return out


def published_rows(o: Oracle, targets_csv: str) -> dict:
    """Every row of published.kpi_values the oracle expects (MART.md), with its derived columns:
    (kpi, grain, period, region) -> {value, prev_value, yoy_growth_pct, target_value, attainment_pct,
    target_met}. Growth is (v / prev − 1) × 100 (None without prev or when prev = 0); attainment is
    v / target × 100, or target / v × 100 for a `<=` target; targets at year grain for the city only."""
    targets = resolve_targets(o, targets_csv)
    out = {}
    for (kpi, grain, period, region), v in o.values.items():
        prev = o.prev_value(kpi, period, region)
        cmp_, target = (
            targets.get((kpi, int(period)), (None, None)) if (grain == "year" and region == CITY) else (None, None)
        )
        attainment = met = None
        if target is not None and v is not None:
            met = Decimal(v) >= target if cmp_ == ">=" else Decimal(v) <= target
            if cmp_ == ">=" and target != 0:
                attainment = Decimal(v) / target * HUNDRED
            elif cmp_ == "<=" and v != 0:
                attainment = target / Decimal(v) * HUNDRED
        out[(kpi, grain, period, region)] = {
            "value": v,
            "prev_value": prev,
            "yoy_growth_pct": None
            if v is None or prev is None or prev == 0
            else (Decimal(v) / Decimal(prev) - 1) * HUNDRED,
            "target_value": target,
            "attainment_pct": attainment,
            "target_met": met,
        }
    return out


def main(argv=None) -> int:
    """python -m sandbox.oracle [--seed S] [--scale N] [--as-of ISO]: the seed checks and the targets."""
    import argparse
    import os

    from .config import DEFAULT_AS_OF, DEFAULT_SEED

    p = argparse.ArgumentParser(prog="python -m sandbox.oracle")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--as-of", default=DEFAULT_AS_OF)
    p.add_argument("--targets", default="/work/shared/contract/targets.csv")
    a = p.parse_args(argv)
    o = Oracle(Dataset(seed=a.seed, scale=a.scale), a.as_of)
    ok = True
    print("seed actuals (city 330200)")
    for label, value, stated, good in seed_actual_checks(o):
        ok &= good
        print(f"  {'ok ' if good else 'BAD'} {label:<52} oracle {value}   stated {stated}")
    if os.path.exists(a.targets):
        print("targets")
        for kpi, year, cmp_, target, value, met in target_checks(o, a.targets):
            tv = None if target is None else round_half_up(target, 2)
            vv = None if value is None else round_half_up(value, 2)
            print(f"  {kpi:<38} {year} {cmp_} {tv}: {vv}  {'met' if met else 'missed' if met is False else '-'}")
    print("quarantined:", dict(o.quarantine), "blocking:", o.blocking)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
