"""The mart as a first-class BI source (issue 16; MART.md "BI additions"), proven on a real
publication: 2023-01 … 2024-12 of the default sandbox ingested over HTTP into a database of its
own, built, gated and swapped in by ipkpi.pipeline.steps in-process, then read as `bi_reader`.

- dates: period_start / period_end are `date`s that filter and truncate;
- one grain per view (kpi_year, kpi_month, kpi_breakdown_year, kpi_breakdown_month): summing a
  year view does not double count; kpi_values_named answers from one dataset;
- roll-up rules in kpi_catalogue (aggregation, is_additive, sort_order) as MART.md says, and true
  of the published numbers;
- regions and targets (targets.csv's comparators, documents and clauses);
- primary keys on every published table's grain, foreign keys to kpi_catalogue and regions;
- a Chinese and English comment on every published relation and column;
- the wide view: one row per (year, region), a column per KPI commented in Chinese;
- the BI role: search_path, statement time-out, connection limit, nothing outside `published`.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.test_publication import ingest, publish_once

CONTRACT = Path("/work/shared/contract")
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)]
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")

# the log view is created by the swap (ipkpi/pipeline/publish.py LOG_VIEW), not by dbt: no comments of ours
# the one view that reads outside `published`: the swap's log view over audit.publication_log (the
# publisher may read it; ipkpi.pipeline.publish.LOG_VIEW, commented there)
READS_AUDIT = {"publication_log"}
# the vintages (MART.md "Vintages") live outside the swapped schema, in `vintage`, owned by the publisher
READS_VINTAGE = {
    "publications",
    "revisions",
    "whitepapers",
    "kpi_values_history",
    "kpi_breakdown_history",
    "source_months_history",
    "source_payloads_history",
}

# MART.md: "aggregation (sum | last | ratio | mean: how months roll up to a year)", read against
# KPIS.md's definitions: flows sum, stocks (and a stock per head) are the year-end level, rates,
# shares and distinct counts are recomputed for the period, means are over the period's records.
AGGREGATION = {
    "sum": {
        "patent_grants_total",
        "patent_grants_invention",
        "pct_applications",
        "copyright_registrations",
        "court_cases_received",
        "court_cases_closed",
        "court_civil_claim_amount",
        "court_punitive_damages_cases",
        "amr_patent_cases_closed",
        "amr_trademark_cases_closed",
        "amr_cases_closed",
        "amr_fines",
        "amr_transfers_to_police",
        "police_cases_filed",
        "police_cases_solved",
        "police_suspects",
        "police_amount_involved",
        "police_cases_from_admin",
        "customs_seizure_batches",
        "customs_seizure_items",
        "customs_seizure_value",
        "rights_assistance_cases",
        "patent_pre_examinations",
        "mediation_cases_succeeded",
        "ip_pledge_amount",
        "ip_pledge_registrations",
        "ip_pledge_first_loans",
    },
    "last": {
        "invention_patents_in_force",
        "high_value_patents_per_10k",
        "trademarks_in_force",
        "madrid_registrations_in_force",
        "geographical_indications",
        "well_known_trademarks",
        "standard_compliant_entities",
        "advantage_enterprises_national",
    },
    "ratio": {
        "patent_intensive_industry_va_share",
        "court_civil_acceptance_rate",
        "amr_closure_rate",
        "mediation_success_rate",
        "ip_pledge_enterprises",
    },
    "mean": {"court_avg_trial_days", "amr_avg_case_days"},
}
NOT_ADDITIVE = AGGREGATION["ratio"] | AGGREGATION["mean"] | {"high_value_patents_per_10k"}

PRIMARY_KEYS = {
    "kpi_values": ["kpi_code", "grain", "period", "region_code"],
    "kpi_breakdown": ["kpi_code", "grain", "period", "region_code", "dimension", "member"],
    "kpi_catalogue": ["kpi_code"],
    "regions": ["region_code"],
    "targets": ["kpi_code", "target_year"],
    "source_months": ["source", "period"],
    "source_payloads": ["source", "period", "payload_position"],
    "court_cases": ["case_no"],
    "enforcement_cases": ["case_id"],
    "customs_seizures": ["seizure_no"],
    "police_cases": ["case_id"],
    "ip_pledges": ["registration_no"],
}
FOREIGN_KEYS = {  # (table, column) -> referenced table(column)
    ("kpi_values", "kpi_code"): "kpi_catalogue(kpi_code)",
    ("kpi_values", "region_code"): "regions(region_code)",
    ("kpi_breakdown", "kpi_code"): "kpi_catalogue(kpi_code)",
    ("kpi_breakdown", "region_code"): "regions(region_code)",
    ("targets", "kpi_code"): "kpi_catalogue(kpi_code)",
    ("court_cases", "court_code"): "regions(region_code)",
    ("enforcement_cases", "region_code"): "regions(region_code)",
    ("police_cases", "region_code"): "regions(region_code)",
    ("ip_pledges", "region_code"): "regions(region_code)",
}
# the views' grains (a view cannot carry a key: its grain is unique instead)
VIEW_GRAINS = {
    "kpi_year": ["kpi_code", "period", "region_code"],
    "kpi_month": ["kpi_code", "period", "region_code"],
    "kpi_breakdown_year": ["kpi_code", "period", "region_code", "dimension", "member"],
    "kpi_breakdown_month": ["kpi_code", "period", "region_code", "dimension", "member"],
    "kpi_values_named": ["kpi_code", "grain", "period", "region_code"],
    "kpi_year_wide": ["year", "region_code"],
}


@pytest.fixture(scope="module")
def bi(settings, warehouse, sandbox, sandbox_credentials):
    """A database of its own holding a real publication of 2023–2024; (owner DSN, bi_reader DSN)."""
    from ipkpi.pipeline.warehouse import bi_reader_dsn
    from tests.mart.harness import fresh_database

    dsn = fresh_database(settings, "ipkpi_bi")
    previous = os.environ.get("IPKPI_WAREHOUSE_DSN")
    os.environ["IPKPI_WAREHOUSE_DSN"] = dsn
    try:
        ingest(dsn, sandbox, sandbox_credentials, months=MONTHS)
        publication = publish_once()
        reader = bi_reader_dsn(settings)
    finally:
        if previous is None:
            os.environ.pop("IPKPI_WAREHOUSE_DSN", None)
        else:
            os.environ["IPKPI_WAREHOUSE_DSN"] = previous
    assert "/ipkpi_bi" in reader
    return {"owner": dsn, "reader": reader, "publication": publication}


def q(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def one(dsn: str, statement: str, params=()):
    ((value,),) = q(dsn, statement, params)
    return value


def published_relations(dsn: str) -> dict[str, str]:
    return dict(
        q(
            dsn,
            "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'published'::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm')",
        )
    )


def test_period_start_and_end_are_dates(bi):
    reader = bi["reader"]
    for table in ("kpi_values", "kpi_breakdown", "source_months"):
        types = dict(
            q(
                reader,
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'published' AND table_name = %s",
                (table,),
            )
        )
        assert types.get("period_start") == "date" and types.get("period_end") == "date", (table, types)
        assert types.get("period") == "text", table  # the text period stays
    # a date filter and a date truncation, unqualified (search_path = published)
    in_2024 = one(reader, "SELECT count(*) FROM kpi_values WHERE period_start >= '2024-01-01'::date")
    assert in_2024 == one(reader, "SELECT count(*) FROM kpi_values WHERE left(period, 4) = '2024'") > 0
    years = q(reader, "SELECT date_trunc('year', period_start)::date, count(*) FROM kpi_values GROUP BY 1 ORDER BY 1")
    assert [y for y, _ in years] == [date(2023, 1, 1), date(2024, 1, 1)]
    # start and end (exclusive) are the period's
    bad = q(
        reader,
        """SELECT kpi_code, grain, period, period_start, period_end FROM kpi_values
                       WHERE to_char(period_start, CASE grain WHEN 'year' THEN 'YYYY' ELSE 'YYYY-MM' END) <> period
                          OR period_end <> (period_start + CASE grain WHEN 'year' THEN interval '1 year'
                                                                     ELSE interval '1 month' END)::date
                          OR period_start IS NULL LIMIT 5""",
    )
    assert bad == []
    bad = q(
        reader,
        """SELECT source, period FROM source_months
                       WHERE to_char(period_start, 'YYYY-MM') <> period
                          OR period_end <> (period_start + interval '1 month')::date LIMIT 5""",
    )
    assert bad == []
    assert (
        one(
            reader,
            "SELECT count(*) FROM kpi_breakdown WHERE period_start >= '2024-01-01'::date "
            "AND period_end <= '2025-01-01'::date",
        )
        == one(reader, "SELECT count(*) FROM kpi_breakdown WHERE period LIKE '2024%%'")
        > 0
    )


def test_grain_views_hold_one_grain_and_do_not_double_count(bi):
    reader = bi["reader"]
    for view, grain in (
        ("kpi_year", "year"),
        ("kpi_month", "month"),
        ("kpi_breakdown_year", "year"),
        ("kpi_breakdown_month", "month"),
    ):
        assert q(reader, f"SELECT DISTINCT grain FROM {view}") == [(grain,)], view
    assert one(reader, "SELECT count(*) FROM kpi_year") + one(reader, "SELECT count(*) FROM kpi_month") == one(
        reader, "SELECT count(*) FROM kpi_values"
    )
    assert one(reader, "SELECT count(*) FROM kpi_breakdown_year") + one(
        reader, "SELECT count(*) FROM kpi_breakdown_month"
    ) == one(reader, "SELECT count(*) FROM kpi_breakdown")
    # a BI tool's SUM over the year view is the year's figure; over kpi_values it would count twice
    grants = "kpi_code = 'patent_grants_invention' AND region_code = '330200'"
    year_row = one(reader, f"SELECT value FROM kpi_values WHERE grain = 'year' AND period = '2024' AND {grants}")
    assert year_row is not None and year_row > 0
    assert one(reader, f"SELECT sum(value) FROM kpi_year WHERE year = 2024 AND {grants}") == year_row
    assert one(reader, f"SELECT sum(value) FROM kpi_month WHERE year = 2024 AND {grants}") == year_row
    assert (
        one(
            reader,
            f"SELECT sum(value) FROM kpi_values WHERE period_start >= '2024-01-01' "
            f"AND period_start < '2025-01-01' AND {grants}",
        )
        == 2 * year_row
    )  # mixing grains doubles
    # the named view answers "发明专利授权量, 宁波市, 2024" from one plain dataset
    named = q(
        reader,
        """SELECT value, kpi_name_en, category, unit, region_name_en, region_level FROM kpi_values_named
                         WHERE kpi_name_zh = '发明专利授权量' AND region_name_zh = '宁波市' AND grain = 'year'
                           AND period_start = '2024-01-01'""",
    )
    assert named == [(year_row, "Invention patent grants", "创造", "件", "Ningbo (city)", "city")]
    assert one(reader, "SELECT count(*) FROM kpi_values_named") == one(reader, "SELECT count(*) FROM kpi_values")
    for view, grain in VIEW_GRAINS.items():
        columns = ", ".join(grain)
        assert q(reader, f"SELECT {columns} FROM {view} GROUP BY {columns} HAVING count(*) > 1 LIMIT 3") == [], view


def kpis_md_order() -> list[str]:
    return re.findall(r"^\| `([a-z0-9_]+)` \|", (CONTRACT / "KPIS.md").read_text(), flags=re.M)


def test_roll_up_rules_in_the_catalogue(bi):
    reader = bi["reader"]
    catalogue = {
        k: (a, add, s)
        for k, a, add, s in q(reader, "SELECT kpi_code, aggregation, is_additive, sort_order FROM kpi_catalogue")
    }
    expected = {k: a for a, codes in AGGREGATION.items() for k in codes}
    assert {k: a for k, (a, _, _) in catalogue.items()} == expected
    assert {k for k, (_, add, _) in catalogue.items() if not add} == NOT_ADDITIVE
    assert [k for k, _ in sorted(catalogue.items(), key=lambda kv: kv[1][2])] == kpis_md_order()
    # the rules hold in the published numbers: a sum KPI's year is the sum of its months, a last
    # KPI's year is December's (complete city years whose twelve months all have a value)
    rows = q(
        reader,
        """SELECT y.kpi_code, k.aggregation, y.value,
                               sum(m.value), count(m.value),
                               max(m.value) FILTER (WHERE m.month = 12)
                        FROM kpi_year y JOIN kpi_catalogue k USING (kpi_code)
                        JOIN kpi_month m ON m.kpi_code = y.kpi_code AND m.region_code = y.region_code
                                        AND m.year = y.year
                        WHERE y.is_complete AND y.value IS NOT NULL AND k.aggregation IN ('sum', 'last')
                        GROUP BY y.kpi_code, k.aggregation, y.value, y.region_code, y.year
                        HAVING count(m.value) = 12""",
    )
    checked = {"sum": set(), "last": set()}
    for kpi, aggregation, year_value, months_sum, _, december in rows:
        assert year_value == (months_sum if aggregation == "sum" else december), (kpi, aggregation)
        checked[aggregation].add(kpi)
    assert "patent_grants_invention" in checked["sum"] and "invention_patents_in_force" in checked["last"]
    # not additive over districts into the city: records coded 330200 count in the city only
    city_above = q(
        reader,
        """SELECT v.kpi_code FROM kpi_year v JOIN regions r USING (region_code)
                              JOIN kpi_catalogue k USING (kpi_code) WHERE k.is_additive AND k.aggregation = 'sum'
                              GROUP BY v.kpi_code, v.year
                              HAVING sum(v.value) FILTER (WHERE r.level = 'district')
                                     < max(v.value) FILTER (WHERE r.level = 'city')""",
    )
    assert city_above, "the city should hold records no district does"
    above_city = q(
        reader,
        """SELECT v.kpi_code, v.year FROM kpi_year v JOIN regions r USING (region_code)
                              JOIN kpi_catalogue k USING (kpi_code) WHERE k.is_additive
                              GROUP BY v.kpi_code, v.year
                              HAVING sum(v.value) FILTER (WHERE r.level = 'district')
                                     > max(v.value) FILTER (WHERE r.level = 'city')""",
    )
    assert above_city == []


def test_regions_and_targets(bi):
    reader = bi["reader"]
    with open(CONTRACT / "reference" / "regions.csv", encoding="utf-8") as f:
        contract_regions = {r["region_code"]: r for r in csv.DictReader(f)}
    regions = q(reader, "SELECT region_code, name_zh, name_en, level, sort_order FROM regions ORDER BY sort_order")
    assert {r[0] for r in regions} == set(contract_regions) and len(regions) == 11
    assert regions[0][0] == "330200" and regions[0][3] == "city" and {r[3] for r in regions[1:]} == {"district"}
    assert [r[4] for r in regions] == list(range(1, 12))
    for code, name_zh, name_en, level, _ in regions:
        assert (name_zh, name_en) == (contract_regions[code]["name_zh"], contract_regions[code]["name_en"])
    with open(CONTRACT / "targets.csv", encoding="utf-8") as f:
        contract = list(csv.DictReader(f))
    published = {
        (k, y): rest
        for k, y, *rest in q(
            reader,
            "SELECT kpi_code, target_year, scope, comparator, target_value, unit, source_document, source_clause, "
            "target_expression FROM targets",
        )
    }
    assert len(published) == len(contract)
    for t in contract:
        scope, comparator, value, unit, document, clause, expression = published[(t["kpi_code"], int(t["target_year"]))]
        assert (scope, comparator, unit, document, clause, expression) == (
            t["scope"],
            t["comparator"],
            t["unit"],
            t["source_document"],
            t["source_clause"],
            t["target_value"],
        )
        if re.fullmatch(r"[0-9.]+", t["target_value"]):
            assert value == Decimal(t["target_value"])
        else:  # 0.9*2022: 2022 is not published here, so the target is not resolved
            assert value is None
    assert {c for (c,) in q(reader, "SELECT DISTINCT comparator FROM targets")} == {">=", "<="}


def test_keys_on_every_published_table(bi):
    owner = bi["owner"]
    relations = published_relations(owner)
    tables = {name for name, kind in relations.items() if kind in ("r", "p")}
    assert tables == set(PRIMARY_KEYS)
    keys = q(
        owner,
        """SELECT c.conrelid::regclass::text, c.contype, pg_get_constraintdef(c.oid)
                       FROM pg_constraint c WHERE c.connamespace = 'published'::regnamespace""",
    )
    primary = {t.removeprefix("published."): d for t, kind, d in keys if kind == "p"}
    for table, columns in PRIMARY_KEYS.items():
        assert primary.get(table) == f"PRIMARY KEY ({', '.join(columns)})", table
    foreign = {(t.removeprefix("published."), d) for t, kind, d in keys if kind == "f"}
    for (table, column), target in FOREIGN_KEYS.items():
        assert (table, f"FOREIGN KEY ({column}) REFERENCES published.{target}") in foreign, (table, column)
    # enforced, not decorative
    with psycopg.connect(owner) as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO published.kpi_values (kpi_code, grain, period, region_code) "
                "VALUES ('no_such_kpi', 'year', '2024', '330200')"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO published.kpi_values (kpi_code, grain, period, region_code) "
                "SELECT kpi_code, grain, period, region_code FROM published.kpi_values LIMIT 1"
            )
        conn.rollback()


def test_every_relation_and_column_has_a_chinese_and_english_comment(bi):
    owner = bi["owner"]
    relations = published_relations(owner)
    assert {
        "kpi_year",
        "kpi_month",
        "kpi_breakdown_year",
        "kpi_breakdown_month",
        "kpi_values_named",
        "kpi_year_wide",
        "regions",
        "targets",
    } <= set(relations)
    missing = []
    for name in sorted(relations):
        comment = one(owner, "SELECT obj_description(%s::regclass, 'pg_class')", (f"published.{name}",))
        if not (comment and CJK.search(comment) and LATIN.search(comment)):
            missing.append((name, None, comment))
        for column, comment in q(
            owner,
            """SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
                                           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
            (f"published.{name}",),
        ):
            if not (comment and CJK.search(comment) and LATIN.search(comment)):
                missing.append((name, column, comment))
    assert missing == []


def test_wide_view_one_row_per_year_and_region(bi):
    reader = bi["reader"]
    pairs = set(q(reader, "SELECT year, region_code FROM kpi_year"))
    wide = q(reader, "SELECT year, region_code FROM kpi_year_wide")
    assert len(wide) == len(set(wide)) == len(pairs) and set(wide) == pairs
    assert {y for y, _ in pairs} == {2023, 2024}
    catalogue = dict(q(reader, "SELECT kpi_code, name_zh FROM kpi_catalogue"))
    columns = [
        c
        for (c,) in q(
            reader,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'published' AND table_name = 'kpi_year_wide' ORDER BY ordinal_position",
        )
    ]
    kpi_columns = [c for c in columns if c in catalogue]
    assert kpi_columns == [k for k in kpis_md_order()]  # every KPI, in the catalogue's order
    # its cells are the year view's
    for kpi in ("patent_grants_invention", "invention_patents_in_force", "court_cases_received", "ip_pledge_amount"):
        expected = dict(
            ((y, r), v)
            for y, r, v in q(reader, "SELECT year, region_code, value FROM kpi_year WHERE kpi_code = %s", (kpi,))
        )
        got = dict(((y, r), v) for y, r, v in q(reader, f"SELECT year, region_code, {kpi} FROM kpi_year_wide"))
        assert {k: v for k, v in got.items() if v is not None} == expected, kpi
    # each KPI column's comment is its Chinese name (then English)
    comments = dict(
        q(
            bi["owner"],
            """SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
                                      WHERE a.attrelid = 'published.kpi_year_wide'::regclass AND a.attnum > 0""",
        )
    )
    for kpi in kpi_columns:
        assert comments[kpi] and comments[kpi].startswith(catalogue[kpi]) and CJK.search(comments[kpi]), kpi


def test_views_read_only_the_publication_and_bi_reads_them_all(bi):
    owner, reader = bi["owner"], bi["reader"]
    outside = q(
        owner,
        """SELECT DISTINCT v.relname, t.relnamespace::regnamespace::text, t.relname
                          FROM pg_class v JOIN pg_rewrite w ON w.ev_class = v.oid
                          JOIN pg_depend d ON d.objid = w.oid AND d.classid = 'pg_rewrite'::regclass
                          JOIN pg_class t ON t.oid = d.refobjid
                          WHERE v.relnamespace = 'published'::regnamespace AND v.relkind = 'v' AND t.oid <> v.oid
                            AND t.relnamespace <> 'published'::regnamespace AND v.relname <> ALL(%s)""",
        (list(READS_AUDIT),),
    )
    assert [
        (view, schema, table) for view, schema, table in outside if not (view in READS_VINTAGE and schema == "vintage")
    ] == []
    assert set(
        q(
            owner,
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relnamespace = 'published'::regnamespace AND relkind IN ('r', 'v')",
        )
    ) == {("ipkpi_publisher",)}
    for name in published_relations(owner):
        q(reader, f"SELECT * FROM {name} LIMIT 1")  # unqualified, with the publisher's rights behind views
    assert one(reader, "SELECT DISTINCT publication_id FROM kpi_year_wide") == bi["publication"]


def test_bi_role(bi, settings):
    reader = bi["reader"]
    assert one(reader, "SHOW search_path") == "published"
    assert one(reader, "SHOW statement_timeout") == "1min"
    assert one(reader, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'bi_reader'") == 20
    with psycopg.connect(reader) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM marts.kpi_values LIMIT 1")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMP TABLE t (x int)")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM kpi_values")
    for database in ("postgres", "airflow"):
        if q(bi["owner"], "SELECT 1 FROM pg_database WHERE datname = %s", (database,)):
            assert not one(bi["owner"], "SELECT has_database_privilege('bi_reader', %s, 'CONNECT')", (database,))
