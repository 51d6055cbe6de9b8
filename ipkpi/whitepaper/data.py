"""Everything the white paper says, read from one publication of the mart (:mod:`ipkpi.mart`) with
the bi_reader role.

bi_reader can read `published` and nothing else, so connecting with ``bi_reader_dsn`` proves the
paper uses only what passed the gate. A year that is not published whole is refused
(:class:`IncompleteYear`), naming the missing sources and months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ingest.registry import FEEDS
from ipkpi.mart import CITY, KpiValue, Mart, Publication, SourceMonth, SourcePayload, Target, connect

# source -> what the paper calls it: each connector's declaration (ingest.registry)
SOURCE_NAMES = {name: source.display_name for name, source in FEEDS.items()}


class IncompleteYear(Exception):
    """The year is not (wholly) published: no paper with holes."""

    def __init__(
        self,
        year: int,
        missing: dict[str, list[str]],
        incomplete_kpis: list[str] | None = None,
        reason: str | None = None,
    ):
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
class YearData:
    """What the paper of ``year`` says, read from one publication of the mart."""

    year: int
    publication: Publication
    catalogue: dict[str, dict]
    city: dict[tuple[str, str], KpiValue]  # (code, 'YYYY') -> city, year grain, every year
    districts: dict[tuple[str, str], KpiValue]  # (code, region) -> year Y
    district_names: dict[str, str]  # region_code -> name, in the published order (published.regions)
    breakdown: dict[tuple[str, str], dict[str, Decimal]]  # (code, dimension) -> member -> value, (city, year Y)
    breakdown_years: dict[tuple[str, str, str], dict[str, Decimal]]  # (code, dimension, 'YYYY') -> member -> value
    targets: list[Target]
    source_months: list[SourceMonth]
    payloads: list[SourcePayload]
    # ipkpi.pipeline.vintages.Change: figures changed since the last paper
    revisions: list = field(default_factory=list)

    @property
    def publication_id(self) -> str:
        return self.publication.publication_id

    def kpi(self, code: str, year: int | None = None) -> KpiValue | None:
        return self.city.get((code, str(year or self.year)))

    def target(self, code: str, year: int | None = None) -> Target | None:
        """The target that applies to ``code`` in ``year`` (default: the paper's year)."""
        year = year or self.year
        applying = [t for t in self.targets if t.kpi_code == code and t.applies_to(year)]
        return max(applying, key=lambda t: t.target_year, default=None)

    @property
    def plan_year(self) -> int | None:
        """The year the latest plan's targets are set for (2025: 示范区建设方案 2023—2025)."""
        return max((t.target_year for t in self.targets if t.scope == "year"), default=None)

    def targets_ahead(self) -> list[Target]:
        """The plan targets set for a year after the paper's, by year and KPI."""
        return [t for t in self.targets if t.target_year > self.year]


def check_year(mart: Mart, year: int) -> None:
    """Raise IncompleteYear unless every source month and every KPI of the year is published complete."""
    if not mart.holds("kpi_values"):
        raise IncompleteYear(year, {}, reason="nothing is published yet (published.kpi_values is absent)")
    months = mart.source_months()
    sources = sorted({m.source for m in months})
    available = {(m.source, m.period) for m in months if m.is_available}
    missing = missing_months(year, sources, available)
    values = mart.kpi_values("year", period=str(year))
    incomplete = [
        f"{k.kpi_code} ({k.months_covered}/12)" for k in values if k.region_code == CITY and not k.is_complete
    ]
    if not sources:
        raise IncompleteYear(year, {}, reason=f"{year}: no source month is published")
    if not mart.holds("source_payloads"):
        raise IncompleteYear(
            year,
            {},
            reason="the publication predates published.source_payloads (the payload "
            "checksums the appendix lists): run `ipkpi run` to republish",
        )
    if missing or incomplete or not values:
        raise IncompleteYear(year, missing, incomplete)


def load(year: int, dsn: str | None = None, publication_id: str | None = None) -> YearData:
    """The year's data as of ``publication_id`` (default: the current publication)."""
    with connect(dsn) as conn:
        mart = Mart(conn, publication_id)
        check_year(mart, year)
        city = {(k.kpi_code, k.period): k for k in mart.kpi_values("year", region_code=CITY)}
        districts = {(k.kpi_code, k.region_code): k for k in mart.kpi_values("year", period=str(year), districts=True)}
        breakdown_years: dict = {}
        for code, dimension, period, member, value in mart.kpi_breakdown("year", region_code=CITY):
            breakdown_years.setdefault((code, dimension, period), {})[member] = value
        return YearData(
            year=year,
            publication=mart.require_publication(),
            catalogue=mart.kpi_catalogue(),
            city=city,
            districts=districts,
            district_names={code: name for code, name in mart.region_names().items() if code != CITY},
            breakdown={(c, d): v for (c, d, p), v in breakdown_years.items() if p == str(year)},
            breakdown_years=breakdown_years,
            targets=mart.targets(),
            source_months=mart.source_months(year),
            payloads=mart.source_payloads(year),
            revisions=mart.revisions_since_last_paper(year),
        )
