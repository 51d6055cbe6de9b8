"""A small synthetic raw layer that exercises every rule of the mart, and an independent oracle.

The sandbox serves the default dataset; this module writes raw rows *directly* (as the loaders
would: raw.loads, raw.source_months, the source's raw table) for all six sources, in two steps:

step 1  months 2019-01 … 2020-12, with gaps (court 2020-05 and police 2020-06 not published,
        statistics 2019-09 not published) and a bad statistics document (2020-07 rev 1);
step 2  months 2021-01 … 2021-12 and late changes: the court 2020-05 window arrives late (its
        versions are older than ones already held), an AMR case of December 2020 is revoked in
        January 2021, a pledge of December 2020 is voided in February 2021, the police 2020-03
        file, the finance 2020-08 file and the customs 2020-02 workbook are re-issued (a record
        dropped, a value changed), statistics 2020-07 is fixed by revision 2, 2020-02 revised,
        and 2021-03 rev 1 is bad and stays bad.

`expected_kpis(loads)` recomputes every KPI from the loads with the contract's rules, written
from KPIS.md / SOURCES.md in plain Python (no SQL shared with the mart).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

# the contract's enumerations, as the connectors declare them (in the contract's order)
from ingest.sources.amr import CATEGORIES as AMR_CATEGORIES
from ingest.sources.court import CASE_TYPES as COURT_TYPES
from ingest.sources.court import CLOSING_METHODS as METHODS
from ingest.sources.court import RIGHT_TYPES as RIGHTS
from ingest.sources.court import TRIAL_LEVELS as LEVELS
from ingest.sources.finance import PLEDGE_TYPES
from ingest.sources.police import LEAD_SOURCES as LEADS
from ingest.sources.police import OFFENCES

TZ = dt.timezone(dt.timedelta(hours=8))
CITY = "330200"
DISTRICTS = ("330203", "330205", "330212", "330281")
REGIONS = (CITY, *DISTRICTS)
ALL_DISTRICTS = ("330203", "330205", "330206", "330211", "330212", "330213", "330225", "330226", "330281", "330282")
FIRST, LAST = dt.date(2019, 1, 1), dt.date(2021, 12, 31)


def months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def ym(d: dt.date | dt.datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def local_ym(ts: dt.datetime) -> str:
    return ym(ts.astimezone(TZ))


def rand_date(rng: random.Random, period: str) -> dt.date:
    y, m = map(int, period.split("-"))
    start = dt.date(y, m, 1)
    end = dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1)
    return start + dt.timedelta(days=rng.randrange((end - start).days))


def at(d: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ)


@dataclass
class Load:
    source: str
    period: str
    rows: list[dict]
    step: int
    status: str = "available"  # or not_published
    key: str = ""  # distinguishes re-issues / revisions
    quarantined: str | None = None  # the loader refused the whole document: (offending indicator@region)


@dataclass
class World:
    loads: list[Load] = field(default_factory=list)

    def add(self, *args, **kwargs):
        self.loads.append(Load(*args, **kwargs))


# ------------------------------------------------------------------------------------------ court


def court_versions(rng: random.Random) -> list[dict]:
    versions = []
    n = 0
    for period in months("2019-01", "2021-12"):
        for _ in range(rng.randint(6, 12)):
            n += 1
            case_type = rng.choices(COURT_TYPES, (8, 1, 1))[0]
            base = {
                "case_no": f"(2019)浙02知民初{n}号",
                "case_type": case_type,
                "trial_level": rng.choices(LEVELS, (8, 2, 1))[0],
                "right_type": rng.choice(RIGHTS),
                "filed_date": rand_date(rng, period),
                "claim_amount": None if rng.random() < 0.1 else Decimal(rng.randrange(1000_00, 5_000_000_00)) / 100,
                "award_amount": None,
                "punitive_damages": False,
                "foreign_related": rng.random() < 0.1,
                "court_code": rng.choice(REGIONS),
            }
            v1 = {
                **base,
                "closed_date": None,
                "closing_method": None,
                "appealed": None,
                "updated_at": at(base["filed_date"], 9, rng.randrange(60)),
            }
            versions.append(v1)
            if rng.random() < 0.85:
                closed = base["filed_date"] + dt.timedelta(days=rng.randint(0, 200))
                method = rng.choices(METHODS, (5, 3, 2, 1, 1, 1))[0]
                first_civil = case_type == "民事" and base["trial_level"] == "一审"
                v2 = {
                    **base,
                    "closed_date": closed,
                    "closing_method": method,
                    "appealed": (False if first_civil and method != "移送" else None),
                    "punitive_damages": rng.random() < 0.05,
                    "award_amount": Decimal(rng.randrange(0, 100_000_00)) / 100,
                }
                if rng.random() < 0.1:  # recorded just after midnight on the 1st: the next window
                    nxt = dt.date(closed.year + (closed.month == 12), 1 if closed.month == 12 else closed.month + 1, 1)
                    v2["updated_at"] = at(nxt, 0, 30)
                else:
                    v2["updated_at"] = at(closed + dt.timedelta(days=rng.randint(0, 3)), 16)
                versions.append(v2)
                if v2["appealed"] is False and rng.random() < 0.2:
                    v3 = {**v2, "appealed": True, "updated_at": v2["updated_at"] + dt.timedelta(days=15)}
                    versions.append(v3)
    return [v for v in versions if v["updated_at"].astimezone(TZ).date() <= LAST]


# ------------------------------------------------------------------------------------------ AMR


def amr_versions(rng: random.Random) -> list[dict]:
    versions = []
    n = 0
    for period in months("2019-01", "2021-12"):
        for _ in range(rng.randint(8, 14)):
            n += 1
            opened = rand_date(rng, period)
            base = {
                "case_id": f"NBSJ-{opened.year}-{n:06d}",
                "category": rng.choice(AMR_CATEGORIES),
                "opened_on": opened,
                "fine_yuan": Decimal(0),
                "transferred_to_police": rng.random() < 0.08,
                "online": rng.random() < 0.3,
                "region_code": rng.choice(REGIONS),
            }
            versions.append({**base, "closed_on": None, "status": "办理中", "updated_at": at(opened, 11)})
            r = rng.random()
            if r < 0.06:  # opened in error
                when = opened + dt.timedelta(days=rng.randint(1, 40))
                versions.append({**base, "closed_on": None, "status": "已撤销", "updated_at": at(when, 12)})
            elif r < 0.92:
                closed = opened + dt.timedelta(days=rng.randint(0, 90))
                versions.append(
                    {
                        **base,
                        "closed_on": closed,
                        "status": "已结案",
                        "fine_yuan": Decimal(rng.randrange(0, 50_000_00)) / 100,
                        "updated_at": at(closed, 15),
                    }
                )
    # a December 2020 case, closed in December, revoked in January 2021 (step 2): leaves December
    special = {
        "case_id": "NBSJ-2020-REVOKED",
        "category": "商标侵权",
        "opened_on": dt.date(2020, 12, 2),
        "fine_yuan": Decimal("12345.67"),
        "transferred_to_police": True,
        "online": False,
        "region_code": "330205",
    }
    versions += [
        {**special, "closed_on": None, "status": "办理中", "updated_at": at(dt.date(2020, 12, 2))},
        {**special, "closed_on": dt.date(2020, 12, 20), "status": "已结案", "updated_at": at(dt.date(2020, 12, 20))},
        {**special, "closed_on": None, "status": "已撤销", "updated_at": at(dt.date(2021, 1, 10))},
    ]
    return [v for v in versions if v["updated_at"].date() <= LAST]


# ------------------------------------------------------------------------------------------ police


def police_files(rng: random.Random) -> dict[str, list[dict]]:
    """The file of each month as the agency produces it: cases filed or changed in the month."""
    cases = []
    n = 0
    for period in months("2019-01", "2021-12"):
        for _ in range(rng.randint(3, 7)):
            n += 1
            filed = rand_date(rng, period)
            solved = filed + dt.timedelta(days=rng.randint(5, 150)) if rng.random() < 0.75 else None
            suspects = rng.randint(1, 4)
            later = (solved + dt.timedelta(days=rng.randint(20, 60))) if solved and rng.random() < 0.15 else None
            cases.append(
                {
                    "case_id": f"A330200{filed:%Y%m}{n:04d}",
                    "filed_date": filed,
                    "solved_date": solved,
                    "offence": rng.choice(OFFENCES),
                    "amount_yuan": Decimal(rng.randrange(10_000_00, 9_000_000_00)) / 100,
                    "suspects": suspects,
                    "later": later,
                    "campaign": rng.choice((None, "蓝剑", "昆仑")),
                    "lead_source": rng.choice(LEADS),
                    "region_code": rng.choice(REGIONS),
                }
            )
    files: dict[str, list[dict]] = defaultdict(list)
    for c in cases:
        events = {ym(c["filed_date"])}
        if c["solved_date"]:
            events.add(ym(c["solved_date"]))
        if c["later"]:
            events.add(ym(c["later"]))
        for period in sorted(events):
            if period > "2021-12":
                continue
            y, m = map(int, period.split("-"))
            end = dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1)
            solved = c["solved_date"] if c["solved_date"] and c["solved_date"] < end else None
            suspects = (c["suspects"] + 1 if c["later"] and c["later"] < end else c["suspects"]) if solved else 0
            files[period].append(
                {
                    "case_id": c["case_id"],
                    "filed_date": c["filed_date"],
                    "solved_date": solved,
                    "offence": c["offence"],
                    "amount_yuan": c["amount_yuan"],
                    "suspects": suspects,
                    "campaign": c["campaign"],
                    "lead_source": c["lead_source"],
                    "region_code": c["region_code"],
                }
            )
    return files


# ------------------------------------------------------------------------------------------ finance


def finance_files(rng: random.Random) -> dict[str, list[dict]]:
    regs = []
    n = 0
    enterprises = [f"91330200MA{i:07d}X" for i in range(60)]
    for period in months("2019-01", "2021-12"):
        for _ in range(rng.randint(5, 10)):
            n += 1
            d = rand_date(rng, period)
            change = None
            r = rng.random()
            if r < 0.2:
                change = ("已注销", d + dt.timedelta(days=rng.randint(30, 300)))
            elif r < 0.25:
                change = ("已撤销", d + dt.timedelta(days=rng.randint(5, 60)))
            regs.append(
                {
                    "registration_no": f"DJ{d:%Y%m}{n:05d}",
                    "registration_date": d,
                    "pledge_type": rng.choice(PLEDGE_TYPES),
                    "pledgor_uscc": rng.choice(enterprises),
                    "pledgee": rng.choice(("宁波银行", "工商银行宁波分行", None)),
                    "amount_wan": Decimal(rng.randrange(10_0000, 5000_0000)) / 10000,
                    "is_first_loan": rng.random() < 0.3,
                    "region_code": rng.choice(REGIONS),
                    "change": change,
                }
            )
    regs.append(
        {
            "registration_no": "DJ202012VOID",
            "registration_date": dt.date(2020, 12, 15),
            "pledge_type": "专利权质押",
            "pledgor_uscc": enterprises[0],
            "pledgee": "宁波银行",
            "amount_wan": Decimal("888.8888"),
            "is_first_loan": True,
            "region_code": "330212",
            "change": ("已撤销", dt.date(2021, 2, 3)),
        }
    )
    files: dict[str, dict[str, dict]] = defaultdict(dict)  # one row per registration and file: its state then
    for g in regs:
        base = {k: v for k, v in g.items() if k != "change"}
        files[ym(g["registration_date"])][g["registration_no"]] = {**base, "status": "有效"}
        if g["change"] and g["change"][1] <= LAST:
            files[ym(g["change"][1])][g["registration_no"]] = {**base, "status": g["change"][0]}
    return {period: list(rows.values()) for period, rows in files.items()}


# ------------------------------------------------------------------------------------------ customs
def customs_files(rng: random.Random) -> dict[str, list[dict]]:
    files = {}
    for period in months("2019-01", "2021-12"):
        rows = []
        for i in range(rng.randint(4, 9)):
            rows.append(
                {
                    "seq": i + 1,
                    "seizure_no": f"NBHG{period.replace('-', '')}{i:06d}",
                    "seizure_date": rand_date(rng, period),
                    "direction": rng.choice(("进口", "出口")),
                    "channel": rng.choice(("货运", "邮递", "快件", "旅检")),
                    "right_type": rng.choice(("商标权", "专利权", "著作权", "奥林匹克标志", "其他")),
                    "goods_category": rng.choice(("服装", "箱包", None)),
                    "quantity": rng.randint(0, 50000),
                    "value_wan": Decimal(rng.randrange(0, 500_0000)) / 10000,
                    "campaign": rng.choice((None, "龙腾", "蓝网", "净网")),
                    "disposition": rng.choices(("扣留", "没收", "放行"), (5, 3, 1))[0],
                }
            )
        files[period] = rows
    return files


# ------------------------------------------------------------------------------------------ statistics
YTD = (
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
STOCK = (
    "invention_patents_in_force",
    "high_value_invention_patents_in_force",
    "trademarks_in_force",
    "madrid_registrations_in_force",
    "geographical_indications",
    "well_known_trademarks",
    "standard_compliant_entities",
    "advantage_enterprises_national",
)
UNITS = {
    "standard_compliant_entities": "家",
    "advantage_enterprises_national": "家",
    "patent_intensive_industry_va_share": "%",
    "resident_population": "万人",
}
LATE_DISTRICT = "330281"  # starts reporting the ytd indicators in 2020-04


def statistics_docs(rng: random.Random) -> dict[str, list[dict]]:
    """Revision-1 documents per month (the truth): ytd cumulative within each year, districts ≤ city."""
    docs: dict[str, list[dict]] = {}
    stock = {(i, r): rng.randint(100, 1000) * (4 if r == CITY else 1) for i in STOCK for r in REGIONS}
    ytd: dict[tuple[str, str], int] = {}
    for period in months("2019-01", "2021-12"):
        year, month = map(int, period.split("-"))
        if month == 1:
            ytd = {}
        rows = []
        flows: dict[tuple[str, str], int] = {}
        for ind in YTD:
            if ind == "mediation_cases_succeeded":  # a share of the closings, so never above them
                for r in REGIONS:
                    flows[(ind, r)] = flows[("mediation_cases_closed", r)] * 3 // 5
                continue
            for r in DISTRICTS:
                flows[(ind, r)] = rng.randint(0, 30)
            flows[(ind, CITY)] = sum(flows[(ind, r)] for r in DISTRICTS) + rng.randint(0, 20)
        for ind in YTD:
            for r in REGIONS:
                ytd[(ind, r)] = ytd.get((ind, r), 0) + flows[(ind, r)]
                if r == LATE_DISTRICT and period < "2020-04":
                    continue  # a district that starts reporting later: no value before
                rows.append({"indicator": ind, "region": r, "value": ytd[(ind, r)], "unit": "件", "basis": "ytd"})
        for ind in STOCK:
            for r in REGIONS:
                stock[(ind, r)] += rng.randint(0, 40) * (4 if r == CITY else 1)
                rows.append(
                    {
                        "indicator": ind,
                        "region": r,
                        "value": stock[(ind, r)],
                        "unit": UNITS.get(ind, "件"),
                        "basis": "stock",
                    }
                )
        if month == 12:
            for r in REGIONS:
                rows.append(
                    {
                        "indicator": "resident_population",
                        "region": r,
                        "value": Decimal(rng.randrange(300_00, 900_00)) / 100 * (4 if r == CITY else 1),
                        "unit": "万人",
                        "basis": "annual",
                    }
                )
                rows.append(
                    {
                        "indicator": "patent_intensive_industry_va_share",
                        "region": r,
                        "value": Decimal(rng.randrange(1000, 2000)) / 100,
                        "unit": "%",
                        "basis": "annual",
                    }
                )
        docs[period] = rows
    return docs


def altered(rows: list[dict], indicator: str, region: str, value) -> list[dict]:
    out = [dict(r) for r in rows]
    for r in out:
        if r["indicator"] == indicator and r["region"] == region:
            r["value"] = value(r["value"])
    return out


# ------------------------------------------------------------------------------------------ the world
def build_world(seed: int = 7) -> World:
    rng = random.Random(seed)
    w = World()
    step1, step2 = months("2019-01", "2020-12"), months("2021-01", "2021-12")

    # court: windows by local month of updated_at; 2020-05 arrives only in step 2
    by_window = defaultdict(list)
    for v in court_versions(rng):
        by_window[local_ym(v["updated_at"])].append(v)
    for p in step1:
        if p == "2020-05":
            w.add("court", p, [], 1, status="not_published")
        else:
            w.add("court", p, by_window[p], 1)
    w.add("court", "2020-05", by_window["2020-05"], 2)
    for p in step2:
        w.add("court", p, by_window[p], 2)

    # AMR cases: monthly change feed
    by_month = defaultdict(list)
    for v in amr_versions(rng):
        by_month[ym(v["updated_at"])].append(v)
    for step, ps in ((1, step1), (2, step2)):
        for p in ps:
            w.add("amr_cases", p, by_month[p], step)

    # police: 2020-06 never published; 2020-03 re-issued in step 2 (a case dropped, an amount changed)
    files = police_files(rng)
    for step, ps in ((1, step1), (2, step2)):
        for p in ps:
            if p == "2020-06":
                w.add("police", p, [], step, status="not_published")
            else:
                w.add("police", p, files[p], step)
    reissue = [dict(r) for r in files["2020-03"]]
    later = {r["case_id"] for p, rows in files.items() if p > "2020-03" for r in rows}
    only_here = [r for r in reissue if r["case_id"] not in later]  # cases no later file re-lists
    reissue.remove(only_here[0])
    only_here[1]["amount_yuan"] = only_here[1]["amount_yuan"] + Decimal("1000.50")
    w.add("police", "2020-03", reissue, 2, key="reissue")

    # finance: 2020-08 re-issued in step 2 without one registration
    files = finance_files(rng)
    for step, ps in ((1, step1), (2, step2)):
        for p in ps:
            w.add("finance", p, files[p], step)
    reissue = [dict(r) for r in files["2020-08"]]
    reissue.pop(0)
    w.add("finance", "2020-08", reissue, 2, key="reissue")

    # customs: 2020-02 re-issued in step 2 (a batch dropped, a quantity changed)
    files = customs_files(rng)
    for step, ps in ((1, step1), (2, step2)):
        for p in ps:
            w.add("customs", p, files[p], step)
    reissue = [dict(r) for r in files["2020-02"]]
    reissue.pop()
    reissue[0]["quantity"] += 7
    w.add("customs", "2020-02", reissue, 2, key="reissue")

    # statistics: revisions; 2019-09 never published; 2020-07 rev 1 bad (fixed by rev 2 in step 2);
    # 2020-02 revised in step 2; 2021-03 rev 1 bad for good
    docs = statistics_docs(rng)
    for p in step1:
        if p == "2019-09":
            w.add("amr_statistics", p, [], 1, status="not_published")
        elif p == "2020-07":
            w.add("amr_statistics", p, _doc(altered(docs[p], "pct_applications", CITY, lambda v: 0), p, 1), 1, key="r1")
        else:
            w.add("amr_statistics", p, _doc(docs[p], p, 1), 1, key="r1")
    w.add("amr_statistics", "2020-07", _doc(docs["2020-07"], "2020-07", 2), 2, key="r2")
    w.add(
        "amr_statistics",
        "2020-02",
        _doc(altered(docs["2020-02"], "trademarks_in_force", "330203", lambda v: v + 5), "2020-02", 2),
        2,
        key="r2",
    )
    for p in step2:
        rows = altered(docs[p], "patent_grants_design", CITY, lambda v: 0) if p == "2021-03" else docs[p]
        w.add("amr_statistics", p, _doc(rows, p, 1), 2, key="r1")
    # 2021-06 revision 2 goes below May: the loader quarantines the whole document (no raw rows);
    # it still wins by its revision, so 2021-06 is unknown although revision 1 was good
    w.add(
        "amr_statistics",
        "2021-06",
        _doc(altered(docs["2021-06"], "patent_grants_invention", CITY, lambda v: 0), "2021-06", 2),
        2,
        key="r2",
        quarantined=f"patent_grants_invention@{CITY}",
    )
    return w


def _doc(rows: list[dict], period: str, revision: int) -> list[dict]:
    y, m = map(int, period.split("-"))
    published = dt.datetime(y + (m == 12), 1 if m == 12 else m + 1, 15, 10, tzinfo=TZ) + dt.timedelta(days=revision)
    return [{"period": period, "revision": revision, "published_at": published, **r} for r in rows]


# ------------------------------------------------------------------------------------------ writing raw
RAW = {
    "court": (
        "raw.court_cases",
        (
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
        ),
        ("case_no", "updated_at"),
    ),
    "amr_cases": (
        "raw.amr_cases",
        (
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
        ),
        ("case_id", "updated_at"),
    ),
    "police": (
        "raw.police_cases",
        (
            "case_id",
            "filed_date",
            "solved_date",
            "offence",
            "amount_yuan",
            "suspects",
            "campaign",
            "lead_source",
            "region_code",
        ),
        None,
    ),
    "finance": (
        "raw.finance_pledges",
        (
            "registration_no",
            "registration_date",
            "pledge_type",
            "pledgor_uscc",
            "pledgee",
            "amount_wan",
            "status",
            "is_first_loan",
            "region_code",
        ),
        None,
    ),
    "customs": (
        "raw.customs_seizures",
        (
            "seq",
            "seizure_no",
            "seizure_date",
            "direction",
            "channel",
            "right_type",
            "goods_category",
            "quantity",
            "value_wan",
            "campaign",
            "disposition",
        ),
        None,
    ),
    "amr_statistics": (
        "raw.amr_statistics",
        ("period", "revision", "published_at", "indicator", "region", "value", "unit", "basis"),
        None,
    ),
}
RAW_NAMES = {"region": "region_code"}  # statistics rows say `region`; the raw column is region_code


def write_step(conn, world: World, step: int) -> None:
    """Insert the loads of a step as the loaders would (one transaction per load)."""
    for load in world.loads:
        if load.step != step:
            continue
        with conn.transaction():
            if load.status == "not_published":
                conn.execute(
                    """INSERT INTO raw.source_months (source, period, status) VALUES (%s, %s, 'not_published')
                                ON CONFLICT (source, period) DO UPDATE SET checked_at = now()""",
                    (load.source, load.period),
                )
                continue
            table, columns, version_key = RAW[load.source]
            digest = hashlib.sha256(f"{load.source}|{load.period}|{load.key}|{load.rows!r}".encode()).hexdigest()
            loaded, refused = (0, len(load.rows)) if load.quarantined else (len(load.rows), 0)
            body = repr(load.rows).encode()  # archived and fetched first, as ingest.store does
            conn.execute(
                "INSERT INTO raw.payloads (sha256, bytes, body) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (digest, len(body), body),
            )
            conn.execute(
                """INSERT INTO raw.fetches (source, period, url, page, http_status, sha256, run_id)
                            VALUES (%s, %s, %s, 1, 200, %s, 'synthetic')""",
                (load.source, load.period, f"synthetic://{load.source}/{load.period}", digest),
            )
            load_id = conn.execute(
                """INSERT INTO raw.loads (source, period, content_sha256, payload_sha256s, run_id, rows_loaded,
                                          rows_quarantined) VALUES (%s, %s, %s, %s, 'synthetic', %s, %s)
                   RETURNING load_id""",
                (load.source, load.period, digest, [digest], loaded, refused),
            ).fetchone()[0]
            if load.quarantined:  # as ingest.sources.amr.check_history does
                with conn.cursor() as cur:
                    cur.executemany(
                        """INSERT INTO quarantine.rows (load_id, source, period, payload_sha256, source_page, source_row,
                                                        reason, record) VALUES (%s, %s, %s, %s, 1, %s, %s, %s)""",
                        [
                            (
                                load_id,
                                load.source,
                                load.period,
                                digest,
                                i,
                                f"ytd_below_previous_month:{load.quarantined}"
                                if f"{row['indicator']}@{row['region']}" == load.quarantined
                                else "document_rejected:ytd_below_previous_month",
                                json.dumps(row, ensure_ascii=False, default=str),
                            )
                            for i, row in enumerate(load.rows, start=1)
                        ],
                    )
                conn.execute(
                    """INSERT INTO raw.source_months (source, period, status, current_load_id)
                       VALUES (%s, %s, 'available', %s)
                       ON CONFLICT (source, period) DO UPDATE SET status = 'available',
                           current_load_id = EXCLUDED.current_load_id, checked_at = now()""",
                    (load.source, load.period, load_id),
                )
                continue
            names = ", ".join(RAW_NAMES.get(c, c) for c in columns)
            placeholders = ", ".join(["%s"] * (len(columns) + 3))
            conflict = f" ON CONFLICT ({', '.join(version_key)}) DO NOTHING" if version_key else ""
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {table} (load_id, source_page, source_row, {names}) VALUES ({placeholders}){conflict}",
                    [(load_id, 1, i, *(row.get(c) for c in columns)) for i, row in enumerate(load.rows, start=1)],
                )
            conn.execute(
                """INSERT INTO raw.source_months (source, period, status, current_load_id)
                   VALUES (%s, %s, 'available', %s)
                   ON CONFLICT (source, period) DO UPDATE SET status = 'available',
                       current_load_id = EXCLUDED.current_load_id, checked_at = now()""",
                (load.source, load.period, load_id),
            )


# ------------------------------------------------------------------------------------------ the oracle
def _loaded(world: World, source: str, upto: int) -> dict[str, Load]:
    """period -> current load (the last available load of the month up to the step)."""
    current = {}
    for load in world.loads:
        if load.source == source and load.step <= upto and load.status == "available":
            current[load.period] = load
    return current


def _periods(loaded: set[str]) -> list[tuple[str, str, dt.date, dt.date]]:
    out = []
    for p in sorted(loaded):
        y, m = map(int, p.split("-"))
        out.append(("month", p, dt.date(y, m, 1), dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1)))
    for y in sorted({p[:4] for p in loaded}):
        out.append(("year", y, dt.date(int(y), 1, 1), dt.date(int(y) + 1, 1, 1)))
    return out


def _cells(records, periods, kpis, region_key="region_code", regions=(CITY, *ALL_DISTRICTS)):
    """kpis: code -> (date field, filter, reducer over the list of records, empty value)."""
    out = {}
    for grain, period, start, end in periods:
        for code, (date_field, keep, reduce, empty) in kpis.items():
            inside = [r for r in records if r[date_field] is not None and start <= r[date_field] < end and keep(r, end)]
            for region in regions:
                sel = inside if region == CITY else [r for r in inside if r[region_key] == region]
                out[(code, grain, period, region)] = reduce(sel, end) if sel else empty
    return out


def _rate(num, den):
    return None if den == 0 else Decimal(100) * num / den


def _mean(values):
    return None if not values else Decimal(sum(values)) / len(values)


def expected_kpis(world: World, upto: int = 2) -> dict[tuple[str, str, str, str], Decimal | None]:
    out: dict = {}

    # court: every version received once; the largest updated_at per case wins
    latest = {}
    for load in _loaded_all(world, "court", upto):
        for v in load.rows:
            if v["case_no"] not in latest or v["updated_at"] > latest[v["case_no"]]["updated_at"]:
                latest[v["case_no"]] = v
    cases = list(latest.values())
    civil_first = lambda r: r["case_type"] == "民事" and r["trial_level"] == "一审"  # noqa: E731
    out |= _cells(
        cases,
        _periods(set(_loaded(world, "court", upto))),
        {
            "court_cases_received": ("filed_date", lambda r, e: True, lambda s, e: len(s), 0),
            "court_civil_claim_amount": (
                "filed_date",
                lambda r, e: True,
                lambda s, e: sum((r["claim_amount"] or 0) for r in s if r["case_type"] == "民事"),
                0,
            ),
            "court_cases_closed": ("closed_date", lambda r, e: True, lambda s, e: len(s), 0),
            "court_civil_acceptance_rate": (
                "closed_date",
                lambda r, e: True,
                lambda s, e: _rate(
                    sum(1 for r in s if civil_first(r) and r["appealed"] is False),
                    sum(1 for r in s if civil_first(r) and r["appealed"] is not None),
                ),
                None,
            ),
            "court_avg_trial_days": (
                "closed_date",
                lambda r, e: True,
                lambda s, e: _mean([(r["closed_date"] - r["filed_date"]).days for r in s]),
                None,
            ),
            "court_punitive_damages_cases": (
                "closed_date",
                lambda r, e: True,
                lambda s, e: sum(1 for r in s if r["punitive_damages"]),
                0,
            ),
        },
        region_key="court_code",
    )

    # AMR cases: largest updated_at wins; revoked cases count nowhere
    latest = {}
    for load in _loaded_all(world, "amr_cases", upto):
        for v in load.rows:
            if v["case_id"] not in latest or v["updated_at"] > latest[v["case_id"]]["updated_at"]:
                latest[v["case_id"]] = v
    valid = [r for r in latest.values() if r["status"] != "已撤销"]
    closed = lambda r, e: r["status"] == "已结案"  # noqa: E731
    out |= _cells(
        valid,
        _periods(set(_loaded(world, "amr_cases", upto))),
        {
            "amr_patent_cases_closed": (
                "closed_on",
                closed,
                lambda s, e: sum(1 for r in s if r["category"] in ("专利侵权纠纷行政裁决", "假冒专利")),
                0,
            ),
            "amr_trademark_cases_closed": (
                "closed_on",
                closed,
                lambda s, e: sum(1 for r in s if r["category"] in ("商标侵权", "商标假冒")),
                0,
            ),
            "amr_cases_closed": ("closed_on", closed, lambda s, e: len(s), 0),
            "amr_fines": ("closed_on", closed, lambda s, e: sum(r["fine_yuan"] for r in s), 0),
            "amr_avg_case_days": (
                "closed_on",
                closed,
                lambda s, e: _mean([(r["closed_on"] - r["opened_on"]).days for r in s]),
                None,
            ),
            "amr_closure_rate": (
                "opened_on",
                lambda r, e: True,
                lambda s, e: _rate(sum(1 for r in s if r["status"] == "已结案" and r["closed_on"] < e), len(s)),
                None,
            ),
            "amr_transfers_to_police": (
                "opened_on",
                lambda r, e: True,
                lambda s, e: sum(1 for r in s if r["transferred_to_police"]),
                0,
            ),
        },
    )

    # police: latest *file* (period) containing the case wins
    loaded = _loaded(world, "police", upto)
    latest = {}
    for period in sorted(loaded):
        for r in loaded[period].rows:
            latest[r["case_id"]] = r
    out |= _cells(
        list(latest.values()),
        _periods(set(loaded)),
        {
            "police_cases_filed": ("filed_date", lambda r, e: True, lambda s, e: len(s), 0),
            "police_amount_involved": (
                "filed_date",
                lambda r, e: True,
                lambda s, e: sum(r["amount_yuan"] for r in s),
                0,
            ),
            "police_cases_from_admin": (
                "filed_date",
                lambda r, e: True,
                lambda s, e: sum(1 for r in s if r["lead_source"].startswith("行政移送")),
                0,
            ),
            "police_cases_solved": ("solved_date", lambda r, e: True, lambda s, e: len(s), 0),
            "police_suspects": ("solved_date", lambda r, e: True, lambda s, e: sum(r["suspects"] for r in s), 0),
        },
    )

    # finance: latest file wins; 已撤销 counts nowhere, 已注销 still counts
    loaded = _loaded(world, "finance", upto)
    latest = {}
    for period in sorted(loaded):
        for r in loaded[period].rows:
            latest[r["registration_no"]] = r
    pledges = [r for r in latest.values() if r["status"] != "已撤销"]
    out |= _cells(
        pledges,
        _periods(set(loaded)),
        {
            "ip_pledge_amount": (
                "registration_date",
                lambda r, e: True,
                lambda s, e: sum(r["amount_wan"] * 10000 for r in s),
                0,
            ),
            "ip_pledge_registrations": ("registration_date", lambda r, e: True, lambda s, e: len(s), 0),
            "ip_pledge_enterprises": (
                "registration_date",
                lambda r, e: True,
                lambda s, e: len({r["pledgor_uscc"] for r in s}),
                0,
            ),
            "ip_pledge_first_loans": (
                "registration_date",
                lambda r, e: True,
                lambda s, e: sum(1 for r in s if r["is_first_loan"]),
                0,
            ),
        },
    )

    # customs: the current workbook of each month; 放行 is not a seizure; city only
    loaded = _loaded(world, "customs", upto)
    rows = [r for load in loaded.values() for r in load.rows if r["disposition"] != "放行"]
    out |= _cells(
        rows,
        _periods(set(loaded)),
        {
            "customs_seizure_batches": ("seizure_date", lambda r, e: True, lambda s, e: len(s), 0),
            "customs_seizure_items": ("seizure_date", lambda r, e: True, lambda s, e: sum(r["quantity"] for r in s), 0),
            "customs_seizure_value": (
                "seizure_date",
                lambda r, e: True,
                lambda s, e: sum(r["value_wan"] * 10000 for r in s),
                0,
            ),
        },
        regions=(CITY,),
    )

    out |= _expected_statistics(world, upto)
    return out


def _loaded_all(world: World, source: str, upto: int) -> list[Load]:
    return [ld for ld in world.loads if ld.source == source and ld.step <= upto and ld.status == "available"]


def _expected_statistics(world: World, upto: int) -> dict:
    # highest revision per period; a document with a ytd below the previous month's is unusable
    docs: dict[str, list[dict]] = {}
    revision: dict[str, int] = {}
    for load in _loaded_all(world, "amr_statistics", upto):
        rev = load.rows[0]["revision"] if load.rows else 0
        if load.period not in revision or rev >= revision[load.period]:
            revision[load.period], docs[load.period] = rev, load.rows
    value = {(p, r["indicator"], r["region"]): Decimal(r["value"]) for p, rows in docs.items() for r in rows}
    bad = set()
    for (p, ind, reg), v in value.items():
        if ind in YTD and not p.endswith("-01"):
            earlier = [q for q in docs if q[:4] == p[:4] and q < p and (q, ind, reg) in value]
            if earlier and v < value[(max(earlier), ind, reg)]:
                bad.add(p)
    good = {k: v for k, v in value.items() if k[0] not in bad}
    loaded = sorted(docs)
    cells = {}
    for (p, ind, reg), v in good.items():
        if ind in YTD:
            y, m = map(int, p.split("-"))
            prev = (f"{y:04d}-{m - 1:02d}", ind, reg)
            if m == 1:
                cells[(ind, "month", p, reg)] = v
            elif prev in good:
                cells[(ind, "month", p, reg)] = v - good[prev]
        elif ind in STOCK:
            cells[(ind, "month", p, reg)] = v
        else:
            cells[(ind, "year", p[:4], reg)] = v
    for year in sorted({p[:4] for p in loaded}):
        last = max(p for p in loaded if p[:4] == year)
        for ind in YTD:
            for reg in REGIONS:
                flows = [cells.get((ind, "month", f"{year}-{m:02d}", reg)) for m in range(1, 13)]
                if all(f is not None for f in flows):
                    cells[(ind, "year", year, reg)] = sum(flows)
        for ind in STOCK:
            for reg in REGIONS:
                if (last, ind, reg) in good:
                    cells[(ind, "year", year, reg)] = good[(last, ind, reg)]
    out = {}
    direct = (
        "patent_grants_invention",
        "pct_applications",
        "copyright_registrations",
        "rights_assistance_cases",
        "patent_pre_examinations",
        "mediation_cases_succeeded",
        "invention_patents_in_force",
        "trademarks_in_force",
        "madrid_registrations_in_force",
        "geographical_indications",
        "well_known_trademarks",
        "standard_compliant_entities",
        "advantage_enterprises_national",
        "patent_intensive_industry_va_share",
    )
    for (ind, grain, period, reg), v in cells.items():
        if ind in direct:
            out[(ind, grain, period, reg)] = v
    for (ind, grain, period, reg), v in cells.items():
        key = (grain, period, reg)
        if ind == "patent_grants_invention":
            u, d = cells.get(("patent_grants_utility", *key)), cells.get(("patent_grants_design", *key))
            if u is not None and d is not None:
                out[("patent_grants_total", *key)] = v + u + d
        if ind == "mediation_cases_succeeded" and ("mediation_cases_closed", *key) in cells:
            out[("mediation_success_rate", *key)] = _rate(v, cells[("mediation_cases_closed", *key)])
        if ind == "high_value_invention_patents_in_force":
            pop = cells.get(("resident_population", "year", period[:4], reg))
            if pop is not None:
                out[("high_value_patents_per_10k", *key)] = v / pop
    return out
