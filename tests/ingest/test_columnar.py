"""The CSV exports are read a column at a time (ingest.columnar); the field readers of ingest.fields
read the JSON and workbook feeds a value at a time. Both must give the same answers: the same
rows, values, quarantine reasons and positions. Here the columnar reading is held to a row-by-row
reading built from the field readers, on the whole default dataset and on hostile edge cases.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from ingest.base import Payload, RowError
from ingest.fields import WHITESPACE
from ingest.files import parse_csv
from ingest.registry import connector
from sandbox.dataset import Dataset
from tests.ingest.test_csv_edge_cases import POLICE_EDGES


def row_by_row(body: bytes, source) -> tuple[list[tuple], list[tuple]]:
    """The reference: csv.reader and each field's reader, one row at a time."""
    content = body.decode(source.encoding)
    reader = csv.reader(io.StringIO(content, newline=""))
    header = [h.strip(WHITESPACE).lstrip("\ufeff") for h in next(reader)]
    index = [header.index(f.source) for f in source.fields]
    rows, rejected = [], []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(c.strip(WHITESPACE) == "" for c in cells):
            continue
        try:
            if len(cells) != len(header):
                raise RowError("wrong_column_count")
            rows.append((1, line_no, *[f.reader(cells[i]) for f, i in zip(source.fields, index)]))
        except RowError as exc:
            rejected.append((line_no, exc.reason,
                             {f.source: (cells[i] if i < len(cells) else None) for f, i in zip(source.fields, index)}))
    return rows, rejected


def as_copy_text(value):
    """What COPY makes of a typed value: compare the two readings in the database's terms."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return value


def columnar(body: bytes, source) -> tuple[list[tuple], list[tuple]]:
    parsed = parse_csv(Payload("http://sandbox/x", body, 200), source.name, "2020-01", encoding=source.encoding,
                       fields=source.fields)
    rows = [tuple(r.values()) for r in parsed.rows.table.to_pylist()]
    numeric = {i + 2 for i, f in enumerate(source.fields) if f.kind in ("decimal", "integer")}
    rows = [tuple(Decimal(v) if i in numeric and v is not None else v for i, v in enumerate(r)) for r in rows]
    return rows, [(r.row, r.reason, r.record) for r in parsed.rejected]


def assert_same(body: bytes, source_name: str) -> tuple[int, int]:
    source = connector(source_name)
    expected_rows, expected_rejected = row_by_row(body, source)
    got_rows, got_rejected = columnar(body, source)
    assert got_rows == [tuple(as_copy_text(v) for v in r) for r in expected_rows]
    assert got_rejected == expected_rejected
    return len(got_rows), len(got_rejected)


@pytest.mark.parametrize("source_name", ["police", "finance"])
def test_same_answers_on_the_whole_default_dataset(source_name):
    dataset = Dataset()
    get = dataset.police_file if source_name == "police" else dataset.finance_file
    rows = rejected = 0
    for period in [f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13)]:
        found = get(period)
        if found:
            r, q = assert_same(found[0], source_name)
            rows, rejected = rows + r, rejected + q
    assert rows > 2000 and rejected > 20  # the dataset's traps (unknown regions, bad USCC) are in it


def test_same_answers_on_police_edge_cases():
    assert assert_same(POLICE_EDGES.encode("gbk"), "police") == (2, 9)


FINANCE_HEADER = "\ufeff登记编号,登记日期,质押类型,出质人统一社会信用代码,质权人,融资金额（万元）,登记状态,是否首贷,区县代码"
FINANCE_EDGES = "\r\n".join([
    FINANCE_HEADER,
    "Z1,2020-02-29,专利权质押,91330200MA2AB1CD42,某银行,100.5,有效,是,330203",
    "Z2,1900-02-29,专利权质押,91330200MA2AB1CD42,某银行,100,有效,是,330203",     # 1900 is not a leap year
    "Z3,0000-01-01,专利权质押,91330200MA2AB1CD42,某银行,100,有效,是,330203",     # no year 0
    "Z4,2020-01-05,专利权质押,91330200MA2AB1CD43,某银行,100,有效,是,330203",     # wrong check character
    "Z5,2020-01-05,专利权质押,91330200MA2AB1CD4,某银行,100,有效,是,330203",      # 17 characters
    "Z6,2020-01-05,专利权质押,91330200MA2AB1CDI2,某银行,100,有效,是,330203",     # I is not in the charset
    "Z7,2020-01-05,专利权质押,91330200MA2AB1CD42,,-0,有效,否,330203",           # -0 is 0; no pledgee
    "Z8,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,1,234,有效,是,330203",   # one cell too many
    "Z9,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,100,有效,也许,330203",   # not 是/否
    "Z10,2020-01-05,专利权质押,91330200MA2AB1CD42,\"某银行\r\n宁波分行\",100,有效,否,330203",  # newline in quotes
    "Z11,2020-01-05,专利权质押",                                                   # too few cells
    "   ",                                                                         # blank record: skipped
    "Z12,2020/1/5,专利权质押,91330200MA2AB1CD42,某银行,100,有效,否,330203",     # YYYY/M/D: the shared date grammar
    "Z13,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,,有效,否,330203",      # no amount
    "Z14,2020-01-05,,91330200MA2AB1CD42,某银行,5,有效,否,330203",               # no type
    "", "",
])


def test_same_answers_on_finance_edge_cases():
    from ingest.fields import uscc

    uscc("91330200MA2AB1CD42", "x")  # the edge cases' base code is valid
    rows, rejected = assert_same(FINANCE_EDGES.encode("utf-8"), "finance")
    assert (rows, rejected) == (4, 10)


DATE_EDGES = [
    "2020-01-05", "2020/1/5", "2020/01/05", "2020/12/31", "2020/1/31", "2020/11/5", "2020/2/29", "2021/2/29",
    "1900/2/29", "2000/2/29", "2100-02-29", "2024-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "2020-04-31",
    "2020-1-05", "2020-01-5", "2020/1//5", "2020//1/5", "2020/123/5", "2020/1/123", "2020/0/5", "2020/1/0",
    "2020-00-10", "2020/13/1", "20200105", "2020-01-05T00", "２０２０-01-05", "2020-01-0５", "2020/1/5/",
    "/2020/1/5", "2020/1/5x", "202/01/05", "12020/1/5", "2020-01/05", "2020/01-05", "abcd/e/f", "2020/1/",
    "2020//", "2020.1.5", "2020/１/5", "2020/1/ 5", "2020-1-5", "-2020/1/5", "+2020-01-05", "2020/1/5\n",
]


COUNT_EDGES = ["1", "007", "0", "-0", "-1", "1.0", "1.5", "1,000", "", "x", "１", "+1", " 2 "]


@pytest.mark.parametrize("column, cells, valid", [
    ("filed_date", DATE_EDGES, 12), ("solved_date", DATE_EDGES + [""], 13), ("suspects", COUNT_EDGES, 5)])
def test_few_distinct_values_read_once_as_the_field_reader_reads_them(column, cells, valid):
    """Dates and head counts are read once per distinct cell and spread back: every cell of a column
    in two chunks, each value repeated out of order, gets what the field's reader says of it."""
    import pyarrow as pa

    from ingest.columnar import read_column

    f = next(f for f in connector("police").fields if f.column == column)
    column_cells = pa.chunked_array([cells, cells[::-1] + cells[:3]], pa.string())
    values, reasons = read_column(f, column_cells)
    for cell, value, reason in zip(column_cells.to_pylist(), values.to_pylist(), reasons.to_pylist()):
        try:
            read = f.reader(cell)
            expected = (None if read is None else str(read), None)
        except RowError as bad:
            expected = (None, bad.reason)
        assert (value, reason) == expected, cell
    assert sum(r is None for r in reasons.to_pylist()[:len(cells)]) == valid  # it cannot pass by refusing all
