"""Every rule of the mart on a synthetic raw layer, against an oracle written in plain Python
(tests/mart/synthetic.py): latest state, re-issues, revocations, gaps, revisions, bad documents,
late changes arriving in an incremental run — and full refresh == incremental."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from tests.mart import harness, synthetic


def query(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def test_every_kpi_cell_equals_the_oracle(synthetic_mart):
    expected = synthetic.expected_kpis(synthetic_mart["world"], upto=2)
    got = harness.kpi_values(synthetic_mart["dsn"])
    wrong = [
        (k, expected[k], got.get(k, "missing"))
        for k in expected
        if k not in got or not harness.same_value(k[0], got[k], expected[k])
    ]
    extra = sorted(k for k in got if k not in expected)
    assert not wrong, f"{len(wrong)} cells differ, e.g. {wrong[:5]}"
    assert not extra, f"{len(extra)} cells the oracle has not (e.g. {extra[:5]})"
    assert len(got) > 10_000


def test_full_refresh_equals_incremental(synthetic_mart):
    assert harness.diff(synthetic_mart["incremental"], synthetic_mart["full"]) == {}


def test_late_changes_reach_published_periods(synthetic_mart):
    """Step 2 changed months step 1 had already computed: the incremental run carried them."""
    step1 = {r[:4]: r[4] for r in synthetic_mart["step1"]["kpi_values"]}
    final = {r[:4]: r[4] for r in synthetic_mart["incremental"]["kpi_values"]}
    changed = {k for k in final if step1.get(k, "no cell") != final[k]}  # a value changed or a cell appeared
    kinds = {k[0] for k in changed}
    # the December 2020 case revoked in January 2021 left December 2020 and the year 2020
    assert ("amr_cases_closed", "month", "2020-12", "330200") in changed
    assert ("amr_cases_closed", "year", "2020", "330200") in changed
    # the December 2020 pledge voided in February 2021 left December 2020
    assert ("ip_pledge_registrations", "month", "2020-12", "330200") in changed
    # re-issues (police 2020-03, finance 2020-08, customs 2020-02) and a revision (statistics 2020-07)
    assert {"police_cases_filed", "ip_pledge_amount", "customs_seizure_items", "pct_applications"} <= kinds
    # court 2020-05 arrived late: the month now has a row, the year 2020 is complete
    assert ("court_cases_received", "month", "2020-05", "330200") not in step1
    assert ("court_cases_received", "month", "2020-05", "330200") in final


def test_month_rows_only_for_loaded_months(synthetic_mart):
    dsn = synthetic_mart["dsn"]
    assert query(
        dsn, "SELECT count(*) FROM marts.kpi_values WHERE kpi_code = 'police_cases_filed' AND period = '2020-06'"
    ) == [(0,)]  # never published: no row, not 0
    ((complete, months),) = query(
        dsn,
        "SELECT is_complete, months_covered FROM marts.kpi_values WHERE "
        "kpi_code = 'police_cases_filed' AND grain = 'year' AND period = '2020' "
        "AND region_code = '330200'",
    )
    assert (complete, months) == (False, 11)
    # a loaded month without records is 0, for the city and every district
    zeros = query(
        dsn, "SELECT count(*) FROM marts.kpi_values WHERE kpi_code = 'court_punitive_damages_cases' AND value = 0"
    )
    assert zeros[0][0] > 0


def test_statistics_gaps_and_bad_documents(synthetic_mart):
    dsn = synthetic_mart["dsn"]
    cells = {r[:4]: r[4] for r in synthetic_mart["incremental"]["kpi_values"]}
    # 2019-09 never published: its flow and October's are unknown, the 2019 flows have no cell
    assert ("pct_applications", "month", "2019-09", "330200") not in cells
    assert ("pct_applications", "month", "2019-10", "330200") not in cells
    assert ("pct_applications", "month", "2019-11", "330200") in cells
    assert ("pct_applications", "year", "2019", "330200") not in cells
    assert ("invention_patents_in_force", "year", "2019", "330200") in cells  # a stock is still known
    # 2021-03 rev 1 is bad: the whole document is unused (stocks too), flows of March and April unknown
    assert ("invention_patents_in_force", "month", "2021-03", "330200") not in cells
    assert ("patent_grants_invention", "month", "2021-04", "330200") not in cells
    assert ("patent_grants_total", "year", "2021", "330200") not in cells
    # a district that starts reporting in 2020-04 has no value before, and no flow in its first month
    assert ("pct_applications", "month", "2020-03", "330281") not in cells
    assert ("pct_applications", "month", "2020-04", "330281") not in cells
    assert ("pct_applications", "month", "2020-05", "330281") in cells
    # the check the gate reads: 2020-07 was bad in step 1 and fixed by revision 2; 2021-03 stays bad
    step1 = {(r[0], r[1], r[2]) for r in synthetic_mart["step1"]["ytd_violations"]}
    assert ("2020-07", "pct_applications", "330200") in step1
    rows = query(
        dsn,
        "SELECT period, indicator, region_code, revision, ytd_value, previous_ytd_value "
        "FROM intermediate.int_amr__statistics_ytd_violations ORDER BY period",
    )
    assert [(p, i, r, rev) for p, i, r, rev, *_ in rows] == [
        ("2021-03", "patent_grants_design", "330200", 1),
        ("2021-06", "patent_grants_invention", "330200", 2),
    ]
    assert all(ytd == 0 and previous > 0 for *_, ytd, previous in rows)
    # 2021-06 rev 2 was quarantined whole by the loader: it still wins over the good rev 1
    assert ("invention_patents_in_force", "month", "2021-06", "330200") not in cells
    assert ("invention_patents_in_force", "month", "2021-05", "330200") in cells


def test_previous_value_and_growth(synthetic_mart):
    cells = {r[:4]: r for r in synthetic_mart["incremental"]["kpi_values"]}
    checked = 0
    for (kpi, grain, period, region), row in cells.items():
        prev_period = str(int(period[:4]) - 1) + period[4:]
        prev = cells.get((kpi, grain, prev_period, region))
        prev_value, growth = row[8], row[9]
        assert prev_value == (prev[4] if prev else None), (kpi, grain, period, region)
        if prev_value in (None, 0) or row[4] is None:
            assert growth is None
        else:
            assert harness.same(growth, (row[4] / prev_value - 1) * 100, exact=False)
            checked += 1
    assert checked > 1000


def test_standing_norm_target(synthetic_mart):
    rows = query(
        synthetic_mart["dsn"],
        "SELECT period, value, target_value, attainment_pct, target_met FROM marts.kpi_values "
        "WHERE kpi_code = 'amr_closure_rate' AND grain = 'year' AND region_code = '330200' ORDER BY period",
    )
    by_year = {r[0]: r[1:] for r in rows}
    assert by_year["2019"][1:] == (None, None, None)  # the norm starts in 2020
    for year in ("2020", "2021"):
        value, target, attainment, met = by_year[year]
        assert target == 95
        assert harness.same(attainment, value / Decimal(95) * 100, exact=False)
        assert met == (value >= 95)


@pytest.mark.parametrize(
    "dimension,kpi",
    [
        ("case_type", "court_cases_received"),
        ("right_type", "court_cases_closed"),
        ("category", "amr_cases_closed"),
        ("offence", "police_cases_filed"),
        ("pledge_type", "ip_pledge_amount"),
        ("channel", "customs_seizure_batches"),
        ("direction", "customs_seizure_value"),
    ],
)
def test_breakdowns_add_up(synthetic_mart, dimension, kpi):
    rows = query(
        synthetic_mart["dsn"],
        "SELECT b.grain, b.period, sum(b.value), max(v.value) FROM marts.kpi_breakdown b "
        "JOIN marts.kpi_values v ON v.kpi_code = b.kpi_code AND v.grain = b.grain AND v.period = b.period "
        "AND v.region_code = '330200' WHERE b.kpi_code = %s AND b.dimension = %s GROUP BY 1, 2",
        (kpi, dimension),
    )
    assert rows and all(total == city for _, _, total, city in rows)
    assert {g for g, *_ in rows} == {"month", "year"}
