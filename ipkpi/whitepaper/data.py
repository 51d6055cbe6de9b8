"""Everything the white paper says, read from the `published` schema with the bi_reader role.

bi_reader can read `published` and nothing else, so connecting with ``bi_reader_dsn`` proves the
paper uses only what passed the gate. A year that is not published whole is refused
(:class:`IncompleteYear`), naming the missing sources and months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CITY = "330200"
# published has region codes only; the names are the administrative divisions (dbt seed ref_regions)
DISTRICTS = {
    "330203": "海曙区", "330205": "江北区", "330206": "北仑区", "330211": "镇海区", "330212": "鄞州区",
    "330213": "奉化区", "330225": "象山县", "330226": "宁海县", "330281": "余姚市", "330282": "慈溪市",
}
SOURCE_NAMES = {
    "court": "宁波市中级人民法院 知识产权案件", "customs": "宁波海关 侵权货物查扣", "police": "宁波市公安局 知识产权刑事案件",
    "amr_cases": "宁波市市场监管局 行政执法案件", "amr_statistics": "宁波市市场监管局 知识产权统计月报",
    "finance": "知识产权质押融资登记",
}
# `≤` targets (attainment = target / value); every other target is `≥` (KPIS.md)
AT_MOST = {"amr_avg_case_days"}


class IncompleteYear(Exception):
    """The year is not (wholly) published: no paper with holes."""

    def __init__(self, year: int, missing: dict[str, list[str]], incomplete_kpis: list[str] | None = None,
                 reason: str | None = None):
        self.year, self.missing, self.incomplete_kpis = year, missing, incomplete_kpis or []
        lines = [reason or f"{year} 年数据尚未完整发布，拒绝生成白皮书 (year {year} is not completely published):"]
        for source, months in sorted(missing.items()):
            lines.append(f"  {source}: missing {compress_months(months)}")
        if self.incomplete_kpis:
            lines.append("  incomplete KPIs: " + ", ".join(self.incomplete_kpis))
        super().__init__("\n".join(lines))


def compress_months(months: list[str]) -> str:
    """['2020-01','2020-02','2020-03','2020-07'] -> '2020-01…2020-03, 2020-07'."""
    months = sorted(months)
    out, start, prev = [], None, None
    for m in months:
        idx = int(m[:4]) * 12 + int(m[5:7])
        if start is None:
            start, prev, prev_idx = m, m, idx
        elif idx == prev_idx + 1:
            prev, prev_idx = m, idx
        else:
            out.append(start if start == prev else f"{start}…{prev}")
            start, prev, prev_idx = m, m, idx
    if start is not None:
        out.append(start if start == prev else f"{start}…{prev}")
    return ", ".join(out)


def missing_months(year: int, sources: list[str], available: set[tuple[str, str]]) -> dict[str, list[str]]:
    """Per source, the months of ``year`` not available in the publication."""
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    out = {}
    for source in sources:
        gap = [m for m in months if (source, m) not in available]
        if gap:
            out[source] = gap
    return out


@dataclass
class Kpi:
    code: str
    period: str
    region: str
    value: Decimal | None
    unit: str
    prev_value: Decimal | None
    yoy: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    met: bool | None
    publication_id: str
    is_complete: bool = True


@dataclass
class YearData:
    year: int
    publication_id: str
    published_at: object
    catalogue: dict[str, dict]
    city: dict[tuple[str, str], Kpi]                      # (code, 'YYYY') -> city, year grain, every year
    districts: dict[tuple[str, str], Kpi]                 # (code, region) -> year Y
    breakdown: dict[tuple[str, str], dict[str, Decimal]]  # (code, dimension) -> member -> value, (city, year Y)
    breakdown_years: dict[tuple[str, str, str], dict[str, Decimal]]  # (code, dimension, 'YYYY') -> member -> value
    source_months: list[tuple[str, str, bool, int | None]]
    payloads: list[tuple[str, str, int, int | None, int | None, str]]  # source, period, position, page, bytes, sha256
    gate_warnings: list[dict]
    log: dict = field(default_factory=dict)

    def kpi(self, code: str, year: int | None = None) -> Kpi | None:
        return self.city.get((code, str(year or self.year)))

    def years(self) -> list[int]:
        return sorted({int(p) for (_, p) in self.city})


def connect(dsn: str | None = None):
    import psycopg

    if dsn is None:
        from ipkpi.config import Settings
        from ipkpi.warehouse import bi_reader_dsn

        dsn = bi_reader_dsn(Settings.from_env())
    return psycopg.connect(dsn)


def check_year(conn, year: int) -> None:
    """Raise IncompleteYear unless every source month and every KPI of the year is published complete."""
    if conn.execute("SELECT to_regclass('published.kpi_values')").fetchone()[0] is None:
        raise IncompleteYear(year, {}, reason="nothing is published yet (published.kpi_values is absent)")
    rows = conn.execute("SELECT source, period, is_available FROM published.source_months").fetchall()
    sources = sorted({s for s, _, _ in rows})
    available = {(s, p) for s, p, ok in rows if ok}
    missing = missing_months(year, sources, available)
    incomplete = [f"{c} ({n}/12)" for c, n in conn.execute(
        "SELECT kpi_code, months_covered FROM published.kpi_values WHERE grain = 'year' AND period = %s "
        "AND region_code = %s AND NOT is_complete ORDER BY 1", (str(year), CITY))]
    present = conn.execute("SELECT count(*) FROM published.kpi_values WHERE grain = 'year' AND period = %s",
                           (str(year),)).fetchone()[0]
    if not sources:
        raise IncompleteYear(year, {}, reason=f"{year}: no source month is published")
    if conn.execute("SELECT to_regclass('published.source_payloads')").fetchone()[0] is None:
        raise IncompleteYear(year, {}, reason="the publication predates published.source_payloads (the payload "
                                              "checksums the appendix lists): run `ipkpi run` to republish")
    if missing or incomplete or not present:
        raise IncompleteYear(year, missing, incomplete)


def load(year: int, dsn: str | None = None) -> YearData:
    with connect(dsn) as conn:
        check_year(conn, year)
        log = conn.execute(
            "SELECT publication_id, started_at, finished_at, status, periods, checks_run, checks_failed, detail "
            "FROM published.publication_log WHERE status = 'published' ORDER BY finished_at DESC LIMIT 1").fetchone()
        cols = ["publication_id", "started_at", "finished_at", "status", "periods", "checks_run", "checks_failed",
                "detail"]
        log = dict(zip(cols, log))
        catalogue = {r[0]: dict(zip(["kpi_code", "name_zh", "name_en", "category", "unit", "definition", "source"], r))
                     for r in conn.execute("SELECT kpi_code, name_zh, name_en, category, unit, definition, source "
                                           "FROM published.kpi_catalogue ORDER BY kpi_code")}
        select = ("SELECT kpi_code, period, region_code, value, unit, prev_value, yoy_growth_pct, target_value, "
                  "attainment_pct, target_met, publication_id, is_complete FROM published.kpi_values WHERE grain = 'year' ")
        city = {(r[0], r[1]): Kpi(*r) for r in conn.execute(select + "AND region_code = %s", (CITY,))}
        districts = {(r[0], r[2]): Kpi(*r) for r in conn.execute(select + "AND period = %s AND region_code <> %s",
                                                                 (str(year), CITY))}
        breakdown_years: dict = {}
        for code, dim, period, member, value in conn.execute(
                "SELECT kpi_code, dimension, period, member, value FROM published.kpi_breakdown "
                "WHERE grain = 'year' AND region_code = %s ORDER BY member", (CITY,)):
            breakdown_years.setdefault((code, dim, period), {})[member] = value
        breakdown = {(c, d): v for (c, d, p), v in breakdown_years.items() if p == str(year)}
        source_months = conn.execute(
            "SELECT source, period, is_available, load_id FROM published.source_months WHERE period LIKE %s "
            "ORDER BY source, period", (f"{year}-%",)).fetchall()
        payloads = conn.execute(
            "SELECT source, period, payload_position, page, payload_bytes, payload_sha256 FROM published.source_payloads "
            "WHERE period LIKE %s ORDER BY source, period, payload_position", (f"{year}-%",)).fetchall()
    detail = log["detail"] or {}
    warnings = [c for c in (detail.get("gate") or {}).get("failed", []) if c.get("severity") != "error"]
    return YearData(year=year, publication_id=log["publication_id"], published_at=log["finished_at"],
                    catalogue=catalogue, city=city, districts=districts, breakdown=breakdown,
                    breakdown_years=breakdown_years, source_months=source_months, payloads=payloads,
                    gate_warnings=warnings, log=log)
