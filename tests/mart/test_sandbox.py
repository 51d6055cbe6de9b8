"""The mart on the default sandbox dataset: the seeds' published actuals, the sandbox's independent
oracle (sandbox/oracle.py), full refresh == incremental, the publication candidate."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import psycopg
import pytest

from tests.mart import harness

YEARS = ("2018", "2019", "2020")


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def value(dsn, kpi, period, region="330200"):
    found = rows(
        dsn,
        "SELECT value, yoy_growth_pct, is_complete FROM marts.kpi_values WHERE kpi_code = %s "
        "AND period = %s AND region_code = %s",
        (kpi, period, region),
    )
    assert found, f"no cell {kpi} {period} {region}"
    assert found[0][2], f"{kpi} {period} is not complete"
    return found[0][0], found[0][1]


def total(dsn, kpi, years=YEARS):
    return sum(value(dsn, kpi, y)[0] for y in years)


def member(dsn, kpi, dimension, name, years):
    ((v,),) = rows(
        dsn,
        "SELECT sum(value) FROM marts.kpi_breakdown WHERE kpi_code = %s AND grain = 'year' "
        "AND period = ANY(%s) AND region_code = '330200' AND dimension = %s AND member = %s",
        (kpi, list(years), dimension, name),
    )
    return v


def r(v, places=0, rounding=ROUND_HALF_UP):
    return Decimal(v).quantize(Decimal(1).scaleb(-places), rounding=rounding)


# (label, function of dsn -> (mart value shown, ok)) — /work/shared/seeds/README.md "The published actuals"
ACTUALS = {
    "court_cases_received 2018–2020 = 5,054": lambda d: (t := total(d, "court_cases_received"), t == 5054),
    "court_cases_received by case_type 2018–2020 = 4,092 / 409 / 553": lambda d: (
        m := tuple(member(d, "court_cases_received", "case_type", c, YEARS) for c in ("民事", "刑事", "行政")),
        m == (4092, 409, 553),
    ),
    "court_civil_claim_amount 2018–2020 = 133,000万元": lambda d: (
        t := r(total(d, "court_civil_claim_amount") / 10000),
        t == 133000,
    ),
    "amr_patent_cases_closed 2020 = 1,765": lambda d: (v := value(d, "amr_patent_cases_closed", "2020")[0], v == 1765),
    "amr_trademark_cases_closed 2020 = 454": lambda d: (
        v := value(d, "amr_trademark_cases_closed", "2020")[0],
        v == 454,
    ),
    "amr_fines 2020 = 1,358万元": lambda d: (v := r(value(d, "amr_fines", "2020")[0] / 10000), v == 1358),
    "amr_closure_rate 2020 ≥ 95 %": lambda d: (v := value(d, "amr_closure_rate", "2020")[0], v >= 95),
    "police_cases_filed 2020 = 217": lambda d: (v := value(d, "police_cases_filed", "2020")[0], v == 217),
    "police_cases_solved 2020 = 191": lambda d: (v := value(d, "police_cases_solved", "2020")[0], v == 191),
    "police_suspects 2020 = 279": lambda d: (v := value(d, "police_suspects", "2020")[0], v == 279),
    "police_amount_involved 2020 = 5.13亿余元 (rounded down)": lambda d: (
        v := r(value(d, "police_amount_involved", "2020")[0] / 10**8, 2, ROUND_DOWN),
        v == Decimal("5.13"),
    ),
    "police_cases_solved 2019 = 164": lambda d: (v := value(d, "police_cases_solved", "2019")[0], v == 164),
    "customs_seizure_batches 2018–2020 = 1,774": lambda d: (t := total(d, "customs_seizure_batches"), t == 1774),
    "customs_seizure_items 2018–2020 = 5,231.1万件": lambda d: (
        t := r(total(d, "customs_seizure_items") / 10000, 1),
        t == Decimal("5231.1"),
    ),
    "customs_seizure_value 2018–2020 = 约1.8亿元": lambda d: (
        t := r(total(d, "customs_seizure_value") / 10**8, 1),
        t == Decimal("1.8"),
    ),
    "patent_grants_total 2020 = 60,575 (+35.28 %)": lambda d: (
        v := value(d, "patent_grants_total", "2020"),
        v[0] == 60575 and r(v[1], 2) == Decimal("35.28"),
    ),
    "invention_patents_in_force 2020 = 30,551 (+27.77 %)": lambda d: (
        v := value(d, "invention_patents_in_force", "2020"),
        v[0] == 30551 and r(v[1], 2) == Decimal("27.77"),
    ),
    "pct_applications 2020 = 677 (+89.1 %)": lambda d: (
        v := value(d, "pct_applications", "2020"),
        v[0] == 677 and r(v[1], 1) == Decimal("89.1"),
    ),
    "trademarks_in_force 2020 > 320,000 (+47.03 %)": lambda d: (
        v := value(d, "trademarks_in_force", "2020"),
        v[0] > 320000 and r(v[1], 2) == Decimal("47.03"),
    ),
    "madrid_registrations_in_force 2020 = 1,166 (+10.10 %)": lambda d: (
        v := value(d, "madrid_registrations_in_force", "2020"),
        v[0] == 1166 and r(v[1], 2) == Decimal("10.10"),
    ),
    "geographical_indications 2020 = 55 (+14.58 %)": lambda d: (
        v := value(d, "geographical_indications", "2020"),
        v[0] == 55 and r(v[1], 2) == Decimal("14.58"),
    ),
    "well_known_trademarks 2020 = 99 (+10 %)": lambda d: (
        v := value(d, "well_known_trademarks", "2020"),
        v[0] == 99 and r(v[1]) == 10,
    ),
    "copyright_registrations 2020 = 5,300余 (+55 %)": lambda d: (
        v := value(d, "copyright_registrations", "2020"),
        5300 <= v[0] <= 5399 and r(v[1]) == 55,
    ),
    "standard_compliant_entities 2020 = 502": lambda d: (
        v := value(d, "standard_compliant_entities", "2020")[0],
        v == 502,
    ),
    "ip_pledge_amount 2019 = 28亿元": lambda d: (v := r(value(d, "ip_pledge_amount", "2019")[0] / 10**8), v == 28),
    "ip_pledge_amount 2020 = 64.17亿元": lambda d: (
        v := r(value(d, "ip_pledge_amount", "2020")[0] / 10**8, 2),
        v == Decimal("64.17"),
    ),
    "ip_pledge_amount 2020 专利权质押 = 26亿元": lambda d: (
        v := r(member(d, "ip_pledge_amount", "pledge_type", "专利权质押", ("2020",)) / 10**8),
        v == 26,
    ),
    "mediation_cases_succeeded 2019 = 395 / mediation_success_rate 67.1 %": lambda d: (
        v := (value(d, "mediation_cases_succeeded", "2019")[0], r(value(d, "mediation_success_rate", "2019")[0], 1)),
        v == (395, Decimal("67.1")),
    ),
}


@pytest.mark.parametrize("label", list(ACTUALS))
def test_seed_actual(sandbox_mart, label):
    shown, ok = ACTUALS[label](sandbox_mart["dsn"])
    assert ok, f"{label}: the mart has {shown}"


KPI_COLUMNS = ("value", "prev_value", "yoy_growth_pct", "target_value", "attainment_pct", "target_met")


def disagreements(got: dict, expected: dict, columns, kpi_of=lambda key: key[0]) -> dict:
    """Rows only the mart has, rows only the oracle has, and cells that differ (exact for counts and
    money, QUOTIENT_PRECISION for quotients: harness.same_value)."""
    return {
        "only in the mart": sorted(set(got) - set(expected)),
        "only in the oracle": sorted(set(expected) - set(got)),
        "differ": [
            (key, column, got[key][column], expected[key][column])
            for key in sorted(set(got) & set(expected))
            for column in columns
            if not harness.same_value(kpi_of(key), got[key][column], expected[key][column], column)
        ],
    }


@pytest.fixture(scope="module")
def oracle():
    """The sandbox's independent oracle (sandbox/oracle.py): the default dataset's records as the
    feeds serve them, summed in Python; nothing read from the warehouse."""
    from sandbox import Dataset
    from sandbox.oracle import compute

    return compute(Dataset())


def test_every_kpi_row_and_column_equals_the_oracle(sandbox_mart, oracle):
    """Every row of kpi_values — city and districts, months and years — with its value, previous
    value, growth and target columns; no row the oracle has not, none missing."""
    from sandbox.oracle import published_rows, resolve_targets

    targets = str(harness.CONTRACT / "targets.csv")
    expected = published_rows(oracle, targets)
    got = {
        tuple(r[:4]): dict(zip(KPI_COLUMNS, r[4:]))
        for r in rows(
            sandbox_mart["dsn"],
            f"SELECT kpi_code, grain, period, region_code, {', '.join(KPI_COLUMNS)} FROM marts.kpi_values",
        )
    }
    found = disagreements(got, expected, KPI_COLUMNS)
    assert found == {"only in the mart": [], "only in the oracle": [], "differ": []}, {
        k: (len(v), v[:5]) for k, v in found.items()
    }
    assert len(expected) > 30_000
    # every target year of targets.csv is judged (met or missed), both outcomes occur
    judged = [row["target_met"] for row in expected.values() if row["target_met"] is not None]
    assert len(judged) == len(resolve_targets(oracle, targets)) and set(judged) == {True, False}


def test_every_breakdown_row_equals_the_oracle(sandbox_mart, oracle):
    """Every split of every KPI by every dimension of MART.md, every member of the contract's
    enumerations, both grains: the same (KPI, dimension) pairs, the same rows, the same values."""
    got = {
        tuple(r[:6]): {"value": r[6]}
        for r in rows(
            sandbox_mart["dsn"],
            "SELECT kpi_code, grain, period, region_code, dimension, member, value FROM marts.kpi_breakdown",
        )
    }
    expected = {key: {"value": v} for key, v in oracle.breakdowns.items()}
    pairs = {(key[0], key[4]) for key in got}
    assert pairs == {(key[0], key[4]) for key in expected} and len(pairs) == 34
    found = disagreements(got, expected, ("value",))
    assert found == {"only in the mart": [], "only in the oracle": [], "differ": []}, {
        k: (len(v), v[:5]) for k, v in found.items()
    }


def test_full_refresh_equals_incremental(sandbox_mart):
    assert harness.diff(sandbox_mart["incremental"], sandbox_mart["full"]) == {}


def test_relative_target_resolved_against_2022(sandbox_mart):
    dsn = sandbox_mart["dsn"]
    base, _ = value(dsn, "amr_avg_case_days", "2022")
    ((v, target, attainment, met),) = rows(
        dsn,
        "SELECT value, target_value, attainment_pct, target_met FROM "
        "marts.kpi_values WHERE kpi_code = 'amr_avg_case_days' AND grain = 'year' "
        "AND period = '2025' AND region_code = '330200'",
    )
    assert target == Decimal("0.9") * base
    assert harness.same(attainment, target / v * 100, exact=False) and met == (v <= target)


def test_publication_candidate(sandbox_mart):
    dsn = sandbox_mart["dsn"]
    relations = {
        t
        for (t,) in rows(
            dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'publish_candidate'"
        )
    }
    assert {
        "kpi_values",
        "kpi_breakdown",
        "kpi_catalogue",
        "source_months",
        "court_cases",
        "enforcement_cases",
        "customs_seizures",
        "police_cases",
        "ip_pledges",
    } <= relations
    assert rows(dsn, "SELECT DISTINCT publication_id FROM publish_candidate.kpi_values") == [("pub-tests-mart",)]
    assert rows(dsn, "SELECT count(*) FROM publish_candidate.kpi_catalogue") == [(42,)]
    ((n_kpis,),) = rows(dsn, "SELECT count(DISTINCT kpi_code) FROM publish_candidate.kpi_values")
    assert n_kpis == 42


def test_docs_build_and_declare_the_consumers(sandbox_mart, mart_settings):
    """`dbt docs generate` builds the site and the catalogue of the built warehouse; the manifest declares
    the BI dashboards and the white paper as exposures of the published models."""
    home = mart_settings.home / "sandbox"
    harness.dbt(["docs", "generate"], sandbox_mart["dsn"], home)
    target = home / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    assert (target / "index.html").stat().st_size > 0
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"ip_kpi_dashboard", "ip_white_paper"}
    for exposure in exposures.values():
        assert any(node.startswith("model.ipkpi.pub_") for node in exposure["depends_on"]["nodes"]), exposure["name"]
    assert {"model.ipkpi.kpi_values", "model.ipkpi.pub_kpi_values"} <= set(catalog["nodes"])
