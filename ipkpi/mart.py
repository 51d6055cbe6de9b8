"""Reads of the published mart (``../shared/contract/MART.md``): the one module that holds SQL against
`published`. The CLI, the DAGs and the white paper ask here; none of them writes a query of its own.

Every read is of one publication, bound when :class:`Mart` is opened: the current publication (the
latest ``published`` row of the publication log) unless a publication id is given. Reading an earlier
publication is not wired yet, so another id is refused (:class:`PublicationNotHeld`); :meth:`Mart.relation`
is the one place that names a relation, where the vintages' as-of functions
(``published.kpi_values_as_of(id)``, ``kpi_breakdown_as_of``, ``source_months_as_of``,
``source_payloads_as_of``: docs/VINTAGES.md) go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

SCHEMA = "published"
CITY = "330200"  # the city's region code; every other region_code is a district


@dataclass(frozen=True)
class Publication:
    """A row of ``published.publication_log``."""

    publication_id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    periods: str | None
    checks_run: int | None
    checks_failed: int | None
    detail: dict | None

    @property
    def gate_warnings(self) -> list[dict]:
        """The gate's failed checks that did not block (severity warning), with their offending rows."""
        failed = ((self.detail or {}).get("gate") or {}).get("failed", [])
        return [check for check in failed if check.get("severity") != "error"]


@dataclass(frozen=True)
class KpiValue:
    """A row of ``published.kpi_values`` (names as MART.md)."""

    kpi_code: str
    grain: str
    period: str
    region_code: str
    value: Decimal | None
    unit: str
    is_complete: bool
    months_covered: int
    prev_value: Decimal | None
    yoy_growth_pct: Decimal | None
    target_value: Decimal | None
    attainment_pct: Decimal | None
    target_met: bool | None
    publication_id: str


@dataclass(frozen=True)
class Target:
    """A row of ``published.targets``: a target of a seed document, and when it applies."""

    kpi_code: str
    target_year: int
    scope: str  # 'year' (target_year only) | 'from_year_on' (a standing norm)
    comparator: str  # '>=' | '<='
    target_value: Decimal | None  # null while a relative target's base year is incomplete
    unit: str
    source_document: str
    source_clause: str

    def applies_to(self, year: int) -> bool:
        return year == self.target_year if self.scope == "year" else year >= self.target_year

    @property
    def at_most(self) -> bool:
        """A `≤` target: met when the value is at most the target (attainment = target / value)."""
        return self.comparator == "<="


@dataclass(frozen=True)
class SourceMonth:
    source: str
    period: str
    is_available: bool
    load_id: int | None


@dataclass(frozen=True)
class SourcePayload:
    source: str
    period: str
    payload_position: int
    page: int | None
    payload_bytes: int | None
    payload_sha256: str


class NothingPublished(LookupError):
    pass


class PublicationNotHeld(LookupError):
    pass


def connect(dsn: str | None = None) -> psycopg.Connection:
    """A connection for reading the mart; by default as bi_reader, which can read `published` and
    nothing else — so whatever is read through it passed the gate."""
    if dsn is None:
        from ipkpi.pipeline.warehouse import bi_reader_dsn
        from ipkpi.platform.config import Settings

        dsn = bi_reader_dsn(Settings.from_env())
    return psycopg.connect(dsn)


def current_publication(conn: psycopg.Connection) -> Publication | None:
    """The publication `published` holds now: the latest attempt that was published."""
    with conn.cursor(row_factory=class_row(Publication)) as cur:
        return cur.execute(
            "SELECT publication_id, started_at, finished_at, status, periods, checks_run, checks_failed, detail "
            "FROM published.publication_log WHERE status = 'published' ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()


class Mart:
    """The published mart as of one publication: the current one, or — ``publication_id`` — a kept
    vintage (MART.md "Vintages"), whose kpi_values, kpi_breakdown, source_months and source_payloads
    are read through ``published.<relation>_as_of(id)``: exactly what they held then."""

    def __init__(self, conn: psycopg.Connection, publication_id: str | None = None):
        from ipkpi.pipeline.vintages import TRACKED

        self.conn = conn
        self.publication = current_publication(conn)
        self.pinned: str | None = None
        self._as_of = set(TRACKED)
        current = self.publication.publication_id if self.publication else None
        if publication_id is not None and publication_id != current:
            with conn.cursor(row_factory=class_row(Publication)) as cur:
                held = cur.execute(
                    "SELECT publication_id, started_at, finished_at, status, periods, checks_run, checks_failed, "
                    "detail FROM published.publication_log l WHERE publication_id = %s AND status = 'published' "
                    "AND EXISTS (SELECT 1 FROM published.publications v WHERE v.publication_id = l.publication_id)",
                    (publication_id,),
                ).fetchone()
            if held is None:
                raise PublicationNotHeld(
                    f"publication {publication_id} is not a kept vintage "
                    f"(ipkpi publications lists them; the current one is {current or 'none'})"
                )
            self.publication, self.pinned = held, publication_id

    def require_publication(self) -> Publication:
        if self.publication is None:
            raise NothingPublished("nothing is published yet")
        return self.publication

    def relation(self, name: str) -> sql.Composable:
        """``published.<name>`` as it stood at this mart's publication: for a pinned vintage, the
        relation's as-of function where vintages keep it (else the current relation)."""
        if self.pinned and name in self._as_of:
            return sql.SQL("{}({})").format(sql.Identifier(SCHEMA, f"{name}_as_of"), sql.Literal(self.pinned))
        return sql.Identifier(SCHEMA, name)

    def revisions_since_last_paper(self, year: int) -> list:
        """The city's year figures of ``year`` and earlier whose value changed since the last white
        paper generated from an earlier vintage than this one — (that paper's publication, the
        changes as ipkpi.pipeline.vintages.Change) — so a paper regenerated from its vintage says what it said."""
        from ipkpi.pipeline.vintages import diff

        if self.publication is None or not self.holds("whitepapers"):
            return []
        last = self.conn.execute(
            """SELECT w.publication_id FROM published.whitepapers w
               WHERE w.vintage_no < (SELECT vintage_no FROM published.publications WHERE publication_id = %s)
               ORDER BY w.vintage_no DESC, w.generated_at DESC LIMIT 1""",
            (self.publication.publication_id,),
        ).fetchone()
        if last is None:
            return []
        return [
            c
            for c in diff(self.conn, last[0], self.publication.publication_id)
            if c.relation == "kpi_values"
            and c.grain == "year"
            and c.region_code == CITY
            and c.period <= str(year)
            and c.reason != "first_published"
        ]

    def holds(self, name: str) -> bool:
        """Whether the relation exists (an older publication may predate it; nothing published: none)."""
        return self.conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{name}",)).fetchone()[0] is not None

    def _rows(self, row_type, query: sql.Composable, params=()) -> list:
        with self.conn.cursor(row_factory=class_row(row_type)) as cur:
            return cur.execute(query, params).fetchall()

    def kpi_values(
        self,
        grain: str = "year",
        *,
        period: str | None = None,
        region_code: str | None = None,
        districts: bool = False,
        kpi_codes: list[str] | None = None,
    ) -> list[KpiValue]:
        """KPI values of one grain; optionally of one period, one region (or every district), some KPIs."""
        where = [sql.SQL("grain = %s")]
        params: list = [grain]
        if period is not None:
            where.append(sql.SQL("period = %s"))
            params.append(period)
        if region_code is not None:
            where.append(sql.SQL("region_code = %s"))
            params.append(region_code)
        if districts:
            where.append(sql.SQL("region_code <> %s"))
            params.append(CITY)
        if kpi_codes is not None:
            where.append(sql.SQL("kpi_code = ANY(%s)"))
            params.append(list(kpi_codes))
        query = sql.SQL(
            "SELECT kpi_code, grain, period, region_code, value, unit, is_complete, months_covered, "
            "prev_value, yoy_growth_pct, target_value, attainment_pct, target_met, publication_id "
            "FROM {} WHERE {} ORDER BY kpi_code, period, region_code"
        ).format(self.relation("kpi_values"), sql.SQL(" AND ").join(where))
        return self._rows(KpiValue, query, params)

    def latest_complete_year(self) -> str | None:
        """The latest year some region has complete (every source month of the year published)."""
        return self.conn.execute(
            sql.SQL("SELECT max(period) FROM {} WHERE grain = 'year' AND is_complete").format(
                self.relation("kpi_values")
            )
        ).fetchone()[0]

    def kpi_breakdown(
        self, grain: str = "year", *, region_code: str = CITY
    ) -> list[tuple[str, str, str, str, Decimal]]:
        """(kpi_code, dimension, period, member, value) of one grain and region, by member."""
        return self.conn.execute(
            sql.SQL(
                "SELECT kpi_code, dimension, period, member, value FROM {} WHERE grain = %s AND region_code = %s "
                "ORDER BY member"
            ).format(self.relation("kpi_breakdown")),
            (grain, region_code),
        ).fetchall()

    def kpi_catalogue(self) -> dict[str, dict]:
        """kpi_code -> {kpi_code, name_zh, name_en, category, unit, definition, source}, by code."""
        columns = ["kpi_code", "name_zh", "name_en", "category", "unit", "definition", "source"]
        rows = self.conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY kpi_code").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), self.relation("kpi_catalogue")
            )
        )
        return {row[0]: dict(zip(columns, row)) for row in rows}

    def region_names(self) -> dict[str, str]:
        """region_code -> Chinese name, the city first."""
        return dict(
            self.conn.execute(
                sql.SQL("SELECT region_code, name_zh FROM {} ORDER BY sort_order").format(self.relation("regions"))
            ).fetchall()
        )

    def targets(self) -> list[Target]:
        """The seed documents' targets, by year and KPI."""
        return self._rows(
            Target,
            sql.SQL(
                "SELECT kpi_code, target_year, scope, comparator, target_value, unit, source_document, source_clause "
                "FROM {} ORDER BY target_year, kpi_code"
            ).format(self.relation("targets")),
        )

    def source_months(self, year: int | None = None) -> list[SourceMonth]:
        """Which source months the publication covers (of one year, or all), by source and period."""
        where, params = (sql.SQL("WHERE period LIKE %s"), (f"{year}-%",)) if year else (sql.SQL(""), ())
        return self._rows(
            SourceMonth,
            sql.SQL("SELECT source, period, is_available, load_id FROM {} {} ORDER BY source, period").format(
                self.relation("source_months"), where
            ),
            params,
        )

    def source_payloads(self, year: int) -> list[SourcePayload]:
        """The raw payloads (checksums) behind each source month of the year."""
        return self._rows(
            SourcePayload,
            sql.SQL(
                "SELECT source, period, payload_position, page, payload_bytes, payload_sha256 FROM {} "
                "WHERE period LIKE %s ORDER BY source, period, payload_position"
            ).format(self.relation("source_payloads")),
            (f"{year}-%",),
        )
