"""Customs workbook feed: layout, 合计 row, rounding, 404, ETag, re-issue, auth, bad input."""

from __future__ import annotations

import io
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
    ((qty, value, data_rows),) = query(raw_db, "SELECT quantity, value_wan, data_rows FROM raw.customs_workbook_totals")
    assert data_rows == len(expected)
    assert qty == sum(r["数量（件）"] for r in expected)
    assert value * 10000 == sum(r["案值_元"] for r in expected)  # the truth keeps 元
    # every row carries its load and sheet position
    positions = query(
        raw_db, "SELECT min(source_row), count(DISTINCT source_row), count(DISTINCT load_id) FROM raw.customs_seizures"
    )
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
    early = start_server(
        "127.0.0.1",
        0,
        SandboxConfig(credentials=sandbox_credentials, as_of=(published - timedelta(seconds=1)).isoformat()),
    )
    try:
        report = ingest_months("customs", ["2020-02"], raw_db, endpoint_for("ipkpi_customs", early))
    finally:
        early.stop()
    assert [m.outcome for m in report.months] == ["not_published"]
    assert query(raw_db, "SELECT status, current_load_id FROM raw.source_months") == [("not_published", None)]
    assert query(raw_db, "SELECT count(*) FROM raw.customs_seizures") == [(0,)]


def test_reissued_workbook_replaces_the_month_and_keeps_the_old(raw_db, endpoint_for, sandbox_credentials):
    dataset = Dataset()
    reissued = next(
        p
        for p in (f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13))
        if len(dataset.customs_versions(p)) > 1
    )
    first, second = dataset.customs_versions(reissued)[:2]
    between = first.published_at + (second.published_at - first.published_at) / 2
    old = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, as_of=between.isoformat()))
    try:
        ingest_months("customs", [reissued], raw_db, endpoint_for("ipkpi_customs", old))
    finally:
        old.stop()
    ((first_load,),) = query(raw_db, "SELECT current_load_id FROM raw.source_months")
    report = ingest_months("customs", [reissued], raw_db, endpoint_for("ipkpi_customs"))
    assert report.months[0].outcome == "loaded"
    ((current,),) = query(raw_db, "SELECT current_load_id FROM raw.source_months")
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


# --- the workbook typing rules: calamine's reading held to openpyxl's, row by row -------------------------


def openpyxl_reading(body: bytes, period: str):
    """The reference, as the workbook was read before calamine: openpyxl's cells, each row through
    the field readers in the connector's order (the first bad field names the reason)."""
    from openpyxl import load_workbook

    from ingest.base import RowError
    from ingest.sources.customs import FIELDS, HEADER, SHEET

    rows = load_workbook(io.BytesIO(body), read_only=True, data_only=True)[SHEET].iter_rows(values_only=True)
    title = next((c for c in next(rows) if c not in (None, "")), None)
    next(rows), next(rows)
    good, bad, data_rows = [], [], 0
    for number, cells in enumerate(rows, start=4):
        cells = tuple(cells[: len(HEADER)]) + (None,) * (len(HEADER) - len(cells))
        if all(c is None or c == "" for c in cells):
            continue
        if isinstance(cells[0], str) and cells[0].strip() == "合计":
            totals = (1, number, title, int(cells[7]), wan_4(cells[8]))
            break
        data_rows += 1
        record = dict(zip(HEADER, cells))
        try:
            values = [f.reader(record[f.source]) for f in FIELDS]
            if values[1].strftime("%Y-%m") != period:
                raise RowError("date_outside_period:查获日期")
            good.append((1, number, *[None if v is None else str(v) for v in values]))
        except RowError as exc:
            bad.append((number, exc.reason, record))
    return good, bad, [(*totals, data_rows)]


def calamine_reading(body: bytes, period: str):
    from ingest.base import Payload
    from ingest.registry import connector

    parsed = connector("customs").parse([Payload("http://sandbox/x.xlsx", body, 200)], period)
    rows = [tuple(str(v) if isinstance(v, bool) else v for v in r.values()) for r in parsed.rows.table.to_pylist()]
    return rows, [(r.row, r.reason, r.record) for r in parsed.rejected], parsed.extras["raw.customs_workbook_totals"]


def as_calamine_keeps(record: dict) -> dict:
    """A quarantined record as kept: a cell of only blanks is empty (calamine keeps no blank text
    unless the sheet asks it to, xml:space="preserve") — every reader trims it to empty anyway."""
    return {k: None if isinstance(v, str) and not v.strip() else v for k, v in record.items()}


def assert_same_reading(body: bytes, period: str) -> tuple[int, int]:
    expected, got = openpyxl_reading(body, period), calamine_reading(body, period)
    assert got[0] == expected[0]
    assert got[1] == [(row, reason, as_calamine_keeps(record)) for row, reason, record in expected[1]]
    assert got[2] == expected[2]
    return len(got[0]), len(got[1])


def test_calamine_reads_every_default_workbook_as_openpyxl_did():
    dataset = Dataset(traps={"customs_total_mismatch": "2020-03"})
    rows = 0
    for period in [f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13)]:
        for k in range(len(dataset.customs_versions(period))):  # re-issued months: every version
            r, _ = assert_same_reading(dataset.customs.workbook(int(period[:4]) * 12 + int(period[5:]) - 1, k), period)
            rows += r
    assert rows > 5000


def edge_workbook(rows, *, sheet="查获明细", header=None, total=True) -> bytes:
    """A workbook laid out as the contract says (title, unit row, header), with the given data rows."""
    import datetime as dt

    from openpyxl import Workbook

    from ingest.sources.customs import HEADER, UNIT_LINE

    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet
    ws.append(["宁波海关知识产权侵权嫌疑货物查扣明细（2020年3月）"])
    ws.merge_cells("A1:K1")
    ws.append([UNIT_LINE])
    ws.append(list(header or HEADER))
    for cells in rows:
        ws.append(list(cells))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, (dt.date, dt.datetime)):
                cell.number_format = "yyyy-mm-dd"
    if total:
        ws.append(["合计", None, None, None, None, None, None, 1000, 12.3456])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def edge_rows():
    import datetime as dt

    good = [
        1,
        "NBHG202003000001",
        dt.datetime(2020, 3, 5),
        "出口",
        "货运",
        "商标权",
        "服装",
        120,
        1.23456,
        "龙腾",
        "没收",
    ]

    def row(**changes):
        cells = list(good)
        for index, value in changes.items():
            cells[int(index[1:])] = value
        return cells

    return [
        good,
        row(c1=None),
        row(c1="  "),
        row(c1=12345),
        row(c1=1.5),  # 查扣编号: blank, number as text
        row(c2="2020-03-05"),
        row(c2=43895),
        row(c2=dt.datetime(2020, 4, 1)),
        row(c2=dt.datetime(2020, 3, 5, 13, 30)),
        row(c2=None),
        row(c2=dt.date(2020, 3, 31)),
        row(c2=True),  # 查获日期: an Excel date cell in the month, only
        row(c3="出口 "),
        row(c3="出境"),
        row(c4=None),
        row(c5="商标"),  # enumerations
        row(c9=None),
        row(c9=""),
        row(c9="净网"),
        row(c9="x"),
        row(c10="放行"),
        row(c10=1),
        row(c7=5.0),
        row(c7=1.5),
        row(c7=-3),
        row(c7="12"),
        row(c7=" 7 "),
        row(c7=None),
        row(c7=True),
        row(c7="1,000"),
        row(c8=0.00005),
        row(c8=2.00005),
        row(c8=-1.5),
        row(c8="3.5"),
        row(c8="abc"),
        row(c8=None),
        row(c8=False),
        row(c8=7),
        row(c8=-0.0),
        row(c8=1e-05),
        row(c0="x"),
        row(c0=2.5),
        row(c0=None),
        row(c0=True),
        row(c0=7.0),  # 序号: kept when a whole number
        row(c6=42),
        row(c6=dt.datetime(2020, 3, 1)),
        row(c6=None),
        row(c6=" 鞋帽 "),  # 商品类别: free text
        [None] * 11,  # a blank row in the middle: skipped
        row(c7="x", c10="撤回"),  # two faults: 处置状态 is checked before 数量
        row(c1=None, c2=None),
    ]


def test_calamine_reads_every_workbook_fault_as_openpyxl_did():
    rows, rejected = assert_same_reading(edge_workbook(edge_rows()), "2020-03")
    assert rows >= 20 and rejected >= 20  # it cannot pass by refusing all, nor by taking all


def test_numbers_only_columns_read_as_openpyxl_did():
    """Counts, amounts and row numbers that are all numbers are read a column at a time
    (ingest.columnar): the same answers as the readers, a negative, many places or a huge value included."""
    amounts = [1.23456, 7, 0.00005, 2.00005, -1.5, 12.3, 0.5, 123456789.1234, 1e20, -0.0]
    rows = []
    for i, (quantity, amount) in enumerate(zip([120, -3, 0, 5, 2**40, 7, 9, 1, 2, 3], amounts), start=1):
        row = edge_rows()[0]
        row[0], row[7], row[8] = i, quantity, amount
        rows.append(row)
    good, bad = assert_same_reading(edge_workbook(rows), "2020-03")
    assert good >= 5 and bad >= 2


def test_an_error_cell_reads_as_empty():
    """The one rule calamine changes: it gives no value for an error cell (``#N/A``), so the cell is
    empty — an optional campaign is then none, a seizure number missing (openpyxl gave the text)."""
    from openpyxl import load_workbook

    body = edge_workbook([[1, "NBHG202003000001", None, "出口", "货运", "商标权", "服装", 120, 1.5, None, "没收"]] * 2)
    workbook = load_workbook(io.BytesIO(body))
    sheet = workbook.active
    for column in (2, 10):
        sheet.cell(row=5, column=column).value = "#N/A"
        sheet.cell(row=5, column=column).data_type = "e"
    for row in (4, 5):
        sheet.cell(row=row, column=3).value = __import__("datetime").datetime(2020, 3, 5)
        sheet.cell(row=row, column=3).number_format = "yyyy-mm-dd"
    sheet.cell(row=4, column=10).value = "#N/A"
    sheet.cell(row=4, column=10).data_type = "e"
    out = io.BytesIO()
    workbook.save(out)
    rows, rejected, _ = calamine_reading(out.getvalue(), "2020-03")
    assert [r[2:] for r in rows] == [
        ("NBHG202003000001", "2020-03-05", "出口", "货运", "商标权", None, "没收", "120", "1.5000", "1", "服装")
    ]
    assert [(r[0], r[1]) for r in rejected] == [(5, "missing:查扣编号")]


@pytest.mark.parametrize(
    "body, problem",
    [
        (lambda: edge_workbook([], sheet="Sheet1"), "sheet '查获明细' missing"),
        (lambda: edge_workbook([], header=("序号", "编号")), "header row differs from the contract"),
        (lambda: edge_workbook(edge_rows()[:3], total=False), "no 合计 row after the data rows"),
        (lambda: b"PK\x03\x04 not really a zip", "not a readable XLSX workbook"),
    ],
)
def test_a_workbook_off_the_contract_fails_naming_source_period_and_url(body, problem):
    with pytest.raises(FeedError, match=problem) as err:
        calamine_reading(body(), "2020-03")
    assert "customs 2020-03" in str(err.value) and "http://sandbox/x.xlsx" in str(err.value)
