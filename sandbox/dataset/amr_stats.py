"""Market-regulation IP statistics return (feed 4b): one document per month, with revisions.

The city row (330200) follows the plan (plan.STATS_*): a ytd indicator's December value is the
year's total, a stock's December value the year-end level. Districts report a share of the city
(never more); some districts start reporting an indicator later (no row before). About 10 % of
periods get a revision 2, more than 3 days and at most 12 months after revision 1 (one of them
11-12 months after, see StatsData._time_revisions), which changes some values (and may add a
district row missing from revision 1). Revision 1 is already a good document: every ytd is monotone in
every revision. ~3 % of documents carry one row with an unknown region code (330204).
Opt-in traps (Dataset(traps=...)): "ytd_decrease", "district_exceeds_city".
"""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Dict, List, Optional

from ..regions import CITY, DISTRICT_WEIGHTS, DISTRICTS
from ..rng import allocate, rng_for
from ..timeutil import (
    FIRST_YM,
    LAST_YM,
    REISSUE_DEADLINE,
    add_months,
    month_weights,
    parse_iso,
    ym,
    ym_month,
    ym_parse,
    ym_str,
)
from .common import publication_time, reissue_time
from .plan import STATS_ANNUAL, STATS_FLOW, STATS_STOCK

INDICATORS = (
    ("patent_grants_invention", "件", "ytd"),
    ("patent_grants_utility", "件", "ytd"),
    ("patent_grants_design", "件", "ytd"),
    ("pct_applications", "件", "ytd"),
    ("invention_patents_in_force", "件", "stock"),
    ("high_value_invention_patents_in_force", "件", "stock"),
    ("trademarks_in_force", "件", "stock"),
    ("madrid_registrations_in_force", "件", "stock"),
    ("geographical_indications", "件", "stock"),
    ("well_known_trademarks", "件", "stock"),
    ("copyright_registrations", "件", "ytd"),
    ("standard_compliant_entities", "家", "stock"),
    ("advantage_enterprises_national", "家", "stock"),
    ("rights_assistance_cases", "件", "ytd"),
    ("patent_pre_examinations", "件", "ytd"),
    ("mediation_cases_closed", "件", "ytd"),
    ("mediation_cases_succeeded", "件", "ytd"),
    ("patent_intensive_industry_va_share", "%", "annual"),
    ("resident_population", "万人", "annual"),
)
UNIT = {c: u for c, u, _ in INDICATORS}
BASIS = {c: b for c, _, b in INDICATORS}
ALL = DISTRICTS
REPORTING = {
    "patent_grants_invention": ALL,
    "patent_grants_utility": ALL,
    "patent_grants_design": ALL,
    "pct_applications": ("330203", "330206", "330211", "330212", "330213", "330281", "330282"),
    "invention_patents_in_force": ALL,
    "high_value_invention_patents_in_force": ALL,
    "trademarks_in_force": ALL,
    "madrid_registrations_in_force": ("330203", "330206", "330212", "330281", "330282"),
    "geographical_indications": ("330213", "330225", "330226", "330281", "330282"),
    "well_known_trademarks": ("330203", "330205", "330206", "330212", "330281", "330282"),
    "copyright_registrations": (),
    "standard_compliant_entities": ALL,
    "advantage_enterprises_national": ("330203", "330205", "330206", "330211", "330212", "330281", "330282"),
    "rights_assistance_cases": (),
    "patent_pre_examinations": (),
    "mediation_cases_closed": ("330203", "330206", "330212"),
    "mediation_cases_succeeded": ("330203", "330206", "330212"),
    "patent_intensive_industry_va_share": ("330206", "330212", "330282"),
    "resident_population": ALL,
}
# (indicator, district) -> first period the district reports it
LATE_START = {
    ("pct_applications", "330213"): ym(2021, 4),
    ("high_value_invention_patents_in_force", "330226"): ym(2022, 1),
    ("mediation_cases_closed", "330206"): ym(2022, 1),
    ("mediation_cases_succeeded", "330206"): ym(2022, 1),
}
POP_SHARE = {
    "330203": 0.112,
    "330205": 0.052,
    "330206": 0.088,
    "330211": 0.053,
    "330212": 0.173,
    "330213": 0.062,
    "330225": 0.060,
    "330226": 0.074,
    "330281": 0.134,
    "330282": 0.192,
}
VA_OFFSET = {"330206": Decimal("3.4"), "330212": Decimal("1.1"), "330282": Decimal("2.2")}
GI_WEIGHT = {"330213": 1.0, "330225": 1.6, "330226": 1.3, "330281": 1.1, "330282": 1.0}
REVISION_RATE = 0.10
UNKNOWN_ROW_RATE = 0.03
YEARS = range(2018, 2026)


class Document:
    __slots__ = ("period", "revision", "published_at", "rows")

    def __init__(self, period: int, revision: int, published_at: datetime, rows: list):
        self.period, self.revision, self.published_at, self.rows = period, revision, published_at, rows

    def to_json(self) -> dict:
        return {
            "period": ym_str(self.period),
            "revision": self.revision,
            "published_at": self.published_at.isoformat(timespec="seconds"),
            "rows": [dict(r) for r in self.rows],
        }


def _num(v):
    """JSON value: int for counts, float with one decimal for share/population."""
    if isinstance(v, Decimal):
        return float(v)
    return v


class StatsData:
    def __init__(self, ds):
        self.ds = ds
        self._docs = None
        import threading

        self._lock = threading.Lock()

    # ------------------------------------------------------------------ final values
    def _shares(self, code: str) -> Dict[str, Dict[int, float]]:
        reps = REPORTING[code]
        if not reps:
            return {}
        r = rng_for(self.ds.seed, "stats-share", code)
        base = {
            d: (GI_WEIGHT.get(d, 1.0) if code == "geographical_indications" else DISTRICT_WEIGHTS[d])
            * (0.75 + 0.5 * r.random())
            for d in reps
        }
        target = 0.93 if len(reps) == len(ALL) else 0.55 + 0.04 * len(reps)
        tot = sum(base.values())
        out = {}
        for d in reps:
            s = base[d] / tot * target
            out[d] = {y: max(0.004, s * (1 + 0.04 * r.gauss(0, 1))) for y in range(2017, 2026)}
        return out

    def _final_values(self):
        """{(indicator, region, period): value} for every row of every final document."""
        seed = self.ds.seed
        vals = {}
        for code, unit_, basis in INDICATORS:
            shares = self._shares(code)
            if basis == "ytd":
                for y in YEARS:
                    r = rng_for(seed, "stats-flow", code, y)
                    w = [x * (0.8 + 0.4 * r.random()) for x in month_weights(y)]
                    flows = allocate(STATS_FLOW[code][y], w)
                    city = _cumsum(flows)
                    for m in range(12):
                        vals[(code, CITY, ym(y, m + 1))] = city[m]
                    for d, sh in shares.items():
                        tot = int(round(STATS_FLOW[code][y] * sh[y]))
                        wd = [x * (0.7 + 0.6 * r.random()) for x in month_weights(y)]
                        dyt = _cumsum(allocate(tot, wd))
                        for m in range(12):
                            vals[(code, d, ym(y, m + 1))] = min(dyt[m], city[m])
            elif basis == "stock":
                for y in YEARS:
                    r = rng_for(seed, "stats-stock", code, y)
                    prev, cur = STATS_STOCK[code][y - 1], STATS_STOCK[code][y]
                    w = [0.6 + 0.8 * r.random() for _ in range(12)]
                    acc = 0.0
                    tot = sum(w)
                    for m in range(12):
                        acc += w[m]
                        v = cur if m == 11 else prev + int(round((cur - prev) * acc / tot))
                        vals[(code, CITY, ym(y, m + 1))] = v
                        for d, sh in shares.items():
                            vals[(code, d, ym(y, m + 1))] = min(v, int(round(v * sh[y])))
            else:
                for y in YEARS:
                    i = ym(y, 12)
                    city = Decimal(STATS_ANNUAL[code][y])
                    vals[(code, CITY, i)] = city
                    r = rng_for(seed, "stats-annual", code, y)
                    for d in REPORTING[code]:
                        if code == "resident_population":
                            v = (city * Decimal(str(POP_SHARE[d])) * Decimal(str(1 + 0.004 * r.gauss(0, 1)))).quantize(
                                Decimal("0.1")
                            )
                        else:
                            v = (city + VA_OFFSET[d] + Decimal(str(round(0.3 * r.gauss(0, 1), 1)))).quantize(
                                Decimal("0.1")
                            )
                        vals[(code, d, i)] = v
        # derived consistency: a district's successful mediations never exceed its closed ones
        for (code, d, i), v in list(vals.items()):
            if code == "mediation_cases_succeeded" and d != CITY:
                vals[(code, d, i)] = min(v, vals[("mediation_cases_closed", d, i)])
        return vals

    # ------------------------------------------------------------------ documents
    def documents(self) -> Dict[int, List[Document]]:
        with self._lock:
            if self._docs is None:
                self._docs = self._build()
            return self._docs

    def _rows(self, vals, i: int, drop=()) -> list:
        rows = []
        for code, unit_, basis in INDICATORS:
            if basis == "annual" and ym_month(i) != 12:
                continue
            for region in (CITY,) + tuple(REPORTING[code]):
                start = LATE_START.get((code, region))
                if start is not None and i < start:
                    continue
                if (code, region) in drop:
                    continue
                v = vals[(code, region, i)]
                rows.append({"indicator": code, "region": region, "value": _num(v), "unit": unit_, "basis": basis})
        return rows

    def _build(self) -> Dict[int, List[Document]]:
        seed = self.ds.seed
        vals = self._final_values()
        docs = {}
        months_later = {}  # revised period -> the month (1..12) of its revision 2 after revision 1
        for i in range(FIRST_YM, LAST_YM + 1):
            r = rng_for(seed, "stats-doc", i)
            final_rows = self._rows(vals, i)
            if r.random() < UNKNOWN_ROW_RATE:
                v = vals[("patent_grants_utility", CITY, i)]
                final_rows.append(
                    {
                        "indicator": "patent_grants_utility",
                        "region": "330204",
                        "value": int(v * 0.04),
                        "unit": "件",
                        "basis": "ytd",
                    }
                )
            pub1 = publication_time(seed, "amr-stats", i)
            if r.random() >= REVISION_RATE:
                docs[i] = [Document(i, 1, pub1, final_rows)]
                continue
            # revision 1 differs from the final revision 2
            first = copy.deepcopy(final_rows)
            by_key = {(x["indicator"], x["region"]): x for x in first}
            changed = r.sample([c for c, _, b in INDICATORS if b != "annual"], 3)
            for code in changed:
                city_final = vals[(code, CITY, i)]
                if BASIS[code] == "ytd":
                    prev = vals[(code, CITY, i - 1)] if ym_month(i) > 1 else 0
                    room = city_final - prev
                    if room < 1:
                        continue
                    new_city = city_final - (1 + r.randrange(max(1, min(room, max(1, room // 20)))))
                else:
                    new_city = city_final - max(1, int(city_final * 0.002 * (1 + r.random())))
                by_key[(code, CITY)]["value"] = new_city
                for d in REPORTING[code]:
                    row = by_key.get((code, d))
                    if row is not None:
                        row["value"] = min(row["value"], new_city)
            if r.random() < 0.5:
                # a district row that only the revision carries
                cands = [
                    (x["indicator"], x["region"])
                    for x in first
                    if x["region"] != CITY and x["region"] in DISTRICTS and BASIS[x["indicator"]] == "stock"
                ]
                if cands:
                    drop = cands[r.randrange(len(cands))]
                    first = [x for x in first if (x["indicator"], x["region"]) != drop]
            months_later[i] = 1 + r.randrange(12)
            docs[i] = [Document(i, 1, pub1, first), Document(i, 2, None, final_rows)]
        self._time_revisions(docs, months_later)
        self._apply_opt_in_traps(docs, vals)
        return docs

    def _time_revisions(self, docs, months_later):
        """Publication instants of the revisions 2 (each drawn in its `months_later`-th month
        after revision 1, see common.reissue_time). So that every dataset shows a revision
        coming at the very end of the 12-month window, the revised period with the largest draw
        (the latest period on ties) among those whose revision 1 + 12 months falls before
        REISSUE_DEADLINE has its draw set to 12: its revision 2 comes 11-12 months after
        revision 1. Only the timing changes, never the contents."""
        eligible = [i for i in months_later if add_months(docs[i][0].published_at, 12) < REISSUE_DEADLINE]
        if eligible:
            longest = max(eligible, key=lambda i: (months_later[i], i))
            months_later[longest] = 12
        for i, k in months_later.items():
            first, second = docs[i]
            pub2 = reissue_time(self.ds.seed, "amr-stats", i, first.published_at, k)
            docs[i][1] = Document(i, 2, pub2, second.rows)

    def _apply_opt_in_traps(self, docs, vals):
        traps = self.ds.traps
        spec = traps.get("ytd_decrease")
        if spec:
            if isinstance(spec, str):
                spec = {"period": spec}
            i = ym_parse(spec["period"])
            if ym_month(i) == 1:
                raise ValueError("ytd_decrease needs a period after January")
            code = spec.get("indicator", "patent_grants_invention")
            latest = docs[i][-1]
            bad = copy.deepcopy(latest.rows)
            prev = vals[(code, CITY, i - 1)]
            for x in bad:
                if x["indicator"] == code and x["region"] == CITY:
                    x["value"] = prev - 7
                elif x["indicator"] == code:
                    x["value"] = min(x["value"], prev - 7)
            docs[i][-1] = Document(i, latest.revision, latest.published_at, bad)
            if spec.get("fixed_at"):
                when = parse_iso(spec["fixed_at"])
                docs[i].append(Document(i, latest.revision + 1, when, copy.deepcopy(latest.rows)))
        spec = traps.get("district_exceeds_city")
        if spec:
            if isinstance(spec, str):
                spec = {"period": spec}
            i = ym_parse(spec["period"])
            code = spec.get("indicator", "trademarks_in_force")
            latest = docs[i][-1]
            rows = copy.deepcopy(latest.rows)
            city = next(x["value"] for x in rows if x["indicator"] == code and x["region"] == CITY)
            for x in rows:
                if x["indicator"] == code and x["region"] != CITY:
                    x["value"] = city + 1
                    break
            docs[i][-1] = Document(i, latest.revision, latest.published_at, rows)

    def document_at(self, i: int, as_of: datetime) -> Optional[Document]:
        found = None
        for d in self.documents().get(i, []):
            if d.published_at <= as_of:
                found = d
        return found


def _cumsum(xs):
    out, acc = [], 0
    for x in xs:
        acc += x
        out.append(acc)
    return out
