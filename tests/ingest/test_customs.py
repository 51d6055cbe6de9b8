"""Customs workbook feed: layout, 合计 row, rounding, 404, ETag, re-issue, auth, bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ingest.base import FeedError
from ingest.http import AuthError, Endpoint
from ingest.runner import ingest_months
from ingest.sources.customs import wan_4
from sandbox import Dataset, SandboxConfig, start_server
from tests.ingest.conftest import query


def test_wan_values_round_half_up_to_four_places():
    assert wan_4(0.12345) == Decimal("0.1235")
    assert wan_4(2.00005) == Decimal("2.0001")
    assert wan_4(1.1) == Decimal("1.1000")
    assert wan_4(7) == Decimal("7.0000")


def test_month_loads_rows_without_the_total_row(raw_db, endpoint_for):
    report = ingest_months("customs", ["2020-03"], raw_db, endpoint_for("ipkpi_customs"), run_id="t1")
    assert [m.outcome for m in report.months] == ["loaded"]
    expected = Dataset().customs_rows("2020-03")
    rows = query(raw_db, "SELECT seizure_no, quantity, value_wan, disposition FROM raw.customs_seizures")
    quarantined = query(raw_db, "SELECT reason, record FROM quarantine.rows WHERE source = 'customs'")
    assert len(rows) + len(quarantined) == len(expected)
    assert "合计" not in {r[0] for r in rows}
    # the totals row is kept for the totals check, and covers every row (放行 included)
    (qty, value, data_rows), = query(raw_db, "SELECT quantity, value_wan, data_rows FROM raw.customs_workbook_totals")
    assert data_rows == len(expected)
    assert qty == sum(r["数量（件）"] for r in expected)
    assert value * 10000 == sum(r["案值_元"] for r in expected)  # the truth keeps 元
    # every row carries its load and sheet position
    positions = query(raw_db, "SELECT min(source_row), count(DISTINCT source_row), count(DISTINCT load_id) "
                              "FROM raw.customs_seizures")
    assert positions[0][0] >= 4 and positions[0][1] == len(rows) and positions[0][2] == 1


def test_rerun_is_idempotent_and_rechecks_cheaply(raw_db, endpoint_for):
    ep = endpoint_for("ipkpi_customs")
    ingest_months("customs", ["2020-01", "2020-02"], raw_db, ep, run_id="a")
    before = query(raw_db, "SELECT count(*), sum(quantity) FROM raw.customs_seizures")
    loads = query(raw_db, "SELECT count(*) FROM raw.loads")
    again = ingest_months("customs", ["2020-01", "2020-02"], raw_db, ep, run_id="b")
    assert [m.outcome for m in again.months] == ["unchanged", "unchanged"]  # ETag → 304
    assert query(raw_db, "SELECT count(*), sum(quantity) FROM raw.customs_seizures") == before
    assert query(raw_db, "SELECT count(*) FROM raw.loads") == loads


def test_unpublished_month_is_not_zero(raw_db, endpoint_for, sandbox_credentials):
    published = Dataset().customs_versions("2020-02")[0].published_at
    early = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials,
                                                         as_of=(published - timedelta(seconds=1)).isoformat()))
    try:
        report = ingest_months("customs", ["2020-02"], raw_db, endpoint_for("ipkpi_customs", early))
    finally:
        early.stop()
    assert [m.outcome for m in report.months] == ["not_published"]
    assert query(raw_db, "SELECT status, current_load_id FROM raw.source_months") == [("not_published", None)]
    assert query(raw_db, "SELECT count(*) FROM raw.customs_seizures") == [(0,)]


def test_reissued_workbook_replaces_the_month_and_keeps_the_old(raw_db, endpoint_for, sandbox_credentials):
    dataset = Dataset()
    reissued = next(p for p in (f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13))
                    if len(dataset.customs_versions(p)) > 1)
    first, second = dataset.customs_versions(reissued)[:2]
    between = first.published_at + (second.published_at - first.published_at) / 2
    old = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, as_of=between.isoformat()))
    try:
        ingest_months("customs", [reissued], raw_db, endpoint_for("ipkpi_customs", old))
    finally:
        old.stop()
    (first_load,), = query(raw_db, "SELECT current_load_id FROM raw.source_months")
    report = ingest_months("customs", [reissued], raw_db, endpoint_for("ipkpi_customs"))
    assert report.months[0].outcome == "loaded"
    (current,), = query(raw_db, "SELECT current_load_id FROM raw.source_months")
    assert current != first_load
    # both versions are kept; each load holds its own workbook's rows
    per_load = dict(query(raw_db, "SELECT load_id, count(*) FROM raw.customs_seizures GROUP BY load_id"))
    quarantined = dict(query(raw_db, "SELECT load_id, count(*) FROM quarantine.rows GROUP BY load_id"))
    assert per_load.get(first_load, 0) + quarantined.get(first_load, 0) == len(first.rows)
    assert per_load[current] + quarantined.get(current, 0) == len(dataset.customs_rows(reissued))
    assert query(raw_db, "SELECT count(DISTINCT sha256) FROM raw.fetches") == [(2,)]


@pytest.mark.parametrize("password", ["", "wrong-key"])
def test_bad_credential_fails_at_once_naming_the_connection(raw_db, endpoint_for, password):
    with pytest.raises(AuthError) as err:
        ingest_months("customs", ["2020-03"], raw_db, endpoint_for("ipkpi_customs", password=password))
    assert "ipkpi_customs" in str(err.value)
    assert password not in str(err.value) or password == ""


def test_malformed_workbook_fails_naming_source_period_url_and_is_kept(raw_db, static_server):
    endpoint = Endpoint("ipkpi_customs", static_server(b"this is not a workbook"), "k")
    with pytest.raises(FeedError) as err:
        ingest_months("customs", ["2021-07"], raw_db, endpoint)
    message = str(err.value)
    assert "customs 2021-07" in message and "/reports/ipr-seizures/2021/07.xlsx" in message
    assert query(raw_db, "SELECT bytes FROM raw.payloads") == [(len(b"this is not a workbook"),)]
    assert query(raw_db, "SELECT count(*) FROM raw.loads") == [(0,)]
