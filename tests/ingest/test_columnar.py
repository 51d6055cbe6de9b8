"""Every feed is read a column at a time (ingest.columnar): the CSV exports from their text, the JSON
pages (court, AMR cases) from their decoded values. The field readers of ingest.fields read a
value at a time, as the feeds were read before. Both must give the same answers: the same rows,
values, quarantine reasons, positions and quarantined records. Here the columnar reading is held
to a row-by-row reading built from the field readers, on the whole default dataset and on hostile
edge cases (the customs workbook: tests/ingest/test_customs.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
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
            rejected.append(
                (
                    line_no,
                    exc.reason,
                    {f.source: (cells[i] if i < len(cells) else None) for f, i in zip(source.fields, index)},
                )
            )
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
    parsed = parse_csv(
        Payload("http://sandbox/x", body, 200), source.name, "2020-01", encoding=source.encoding, fields=source.fields
    )
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


FINANCE_HEADER = (
    "\ufeff登记编号,登记日期,质押类型,出质人统一社会信用代码,质权人,融资金额（万元）,登记状态,是否首贷,区县代码"
)
FINANCE_EDGES = "\r\n".join(
    [
        FINANCE_HEADER,
        "Z1,2020-02-29,专利权质押,91330200MA2AB1CD42,某银行,100.5,有效,是,330203",
        "Z2,1900-02-29,专利权质押,91330200MA2AB1CD42,某银行,100,有效,是,330203",  # 1900 is not a leap year
        "Z3,0000-01-01,专利权质押,91330200MA2AB1CD42,某银行,100,有效,是,330203",  # no year 0
        "Z4,2020-01-05,专利权质押,91330200MA2AB1CD43,某银行,100,有效,是,330203",  # wrong check character
        "Z5,2020-01-05,专利权质押,91330200MA2AB1CD4,某银行,100,有效,是,330203",  # 17 characters
        "Z6,2020-01-05,专利权质押,91330200MA2AB1CDI2,某银行,100,有效,是,330203",  # I is not in the charset
        "Z7,2020-01-05,专利权质押,91330200MA2AB1CD42,,-0,有效,否,330203",  # -0 is 0; no pledgee
        "Z8,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,1,234,有效,是,330203",  # one cell too many
        "Z9,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,100,有效,也许,330203",  # not 是/否
        'Z10,2020-01-05,专利权质押,91330200MA2AB1CD42,"某银行\r\n宁波分行",100,有效,否,330203',  # newline in quotes
        "Z11,2020-01-05,专利权质押",  # too few cells
        "   ",  # blank record: skipped
        "Z12,2020/1/5,专利权质押,91330200MA2AB1CD42,某银行,100,有效,否,330203",  # YYYY/M/D: the shared date grammar
        "Z13,2020-01-05,专利权质押,91330200MA2AB1CD42,某银行,,有效,否,330203",  # no amount
        "Z14,2020-01-05,,91330200MA2AB1CD42,某银行,5,有效,否,330203",  # no type
        "",
        "",
    ]
)


def test_same_answers_on_finance_edge_cases():
    from ingest.fields import uscc

    uscc("91330200MA2AB1CD42", "x")  # the edge cases' base code is valid
    rows, rejected = assert_same(FINANCE_EDGES.encode("utf-8"), "finance")
    assert (rows, rejected) == (4, 10)


DATE_EDGES = [
    "2020-01-05",
    "2020/1/5",
    "2020/01/05",
    "2020/12/31",
    "2020/1/31",
    "2020/11/5",
    "2020/2/29",
    "2021/2/29",
    "1900/2/29",
    "2000/2/29",
    "2100-02-29",
    "2024-02-29",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2020-04-31",
    "2020-1-05",
    "2020-01-5",
    "2020/1//5",
    "2020//1/5",
    "2020/123/5",
    "2020/1/123",
    "2020/0/5",
    "2020/1/0",
    "2020-00-10",
    "2020/13/1",
    "20200105",
    "2020-01-05T00",
    "２０２０-01-05",
    "2020-01-0５",
    "2020/1/5/",
    "/2020/1/5",
    "2020/1/5x",
    "202/01/05",
    "12020/1/5",
    "2020-01/05",
    "2020/01-05",
    "abcd/e/f",
    "2020/1/",
    "2020//",
    "2020.1.5",
    "2020/１/5",
    "2020/1/ 5",
    "2020-1-5",
    "-2020/1/5",
    "+2020-01-05",
    "2020/1/5\n",
]


COUNT_EDGES = ["1", "007", "0", "-0", "-1", "1.0", "1.5", "1,000", "", "x", "１", "+1", " 2 "]


@pytest.mark.parametrize(
    "column, cells, valid",
    [("filed_date", DATE_EDGES, 12), ("solved_date", DATE_EDGES + [""], 13), ("suspects", COUNT_EDGES, 5)],
)
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
    assert sum(r is None for r in reasons.to_pylist()[: len(cells)]) == valid  # it cannot pass by refusing all


# --- the JSON feeds (court, AMR cases): records decoded from pages --------------------------------------


def json_row_by_row(pages, fields) -> tuple[list[tuple], list[tuple]]:
    """The reference, as the JSON feeds were read before: each record of each page through each
    field's reader, one at a time (a missing key is None)."""
    rows, rejected = [], []
    for page, items in pages:
        for i, record in enumerate(items, start=1):
            try:
                if not isinstance(record, dict):
                    raise RowError("not_an_object")
                rows.append((page, i, *[f.reader(record.get(f.source)) for f in fields]))
            except RowError as exc:
                rejected.append((page, i, exc.reason, record))
    return rows, rejected


def as_value(f, text):
    """COPY text back to a value comparable with a reader's (Postgres reads it so)."""
    if text is None:
        return None
    if f.kind in ("decimal", "integer", "wan"):
        return Decimal(text)
    if f.kind == "timestamp":
        return dt.datetime.fromisoformat(text)
    if f.kind == "ordinal":
        return int(text)
    return text


def expected_value(f, value):
    if f.kind == "timestamp" or value is None:
        return value
    return as_copy_text(value)


def assert_same_records(pages, source_name, period=None) -> tuple[int, int]:
    from ingest.columnar import read_records

    fields = connector(source_name).fields
    expected_rows, expected_rejected = json_row_by_row(pages, fields)
    parsed = read_records(pages, fields, period)
    got_rows = [
        (r["source_page"], r["source_row"], *[as_value(f, r[f.column]) for f in fields])
        for r in parsed.rows.table.to_pylist()
    ]
    assert got_rows == [
        (p, i, *[expected_value(f, v) for f, v in zip(fields, values)]) for p, i, *values in expected_rows
    ]
    assert [(r.page, r.row, r.reason, r.record) for r in parsed.rejected] == expected_rejected
    return len(got_rows), len(parsed.rejected)


def court_pages(dataset, month: int, page_size: int = 500):
    import orjson

    from sandbox.timeutil import month_start_dt

    served = dataset.court.served_json(month_start_dt(month), month_start_dt(month + 1), dataset_as_of())
    return [
        (n, [orjson.loads(r) for r in served[k : k + page_size]])
        for n, k in enumerate(range(0, len(served), page_size), start=1)
    ]


def dataset_as_of():
    from sandbox.config import DEFAULT_AS_OF
    from sandbox.timeutil import parse_iso

    return parse_iso(DEFAULT_AS_OF)


def test_json_feeds_same_answers_on_the_whole_default_dataset():
    import orjson

    from sandbox.dataset.amr import served_json
    from sandbox.timeutil import ym

    dataset = Dataset()
    totals = {"court": [0, 0], "amr_cases": [0, 0]}
    for year in range(2018, 2026):
        for month in range(1, 13):
            i = ym(year, month)
            for source, pages in (
                ("court", court_pages(dataset, i)),
                (
                    "amr_cases",
                    [
                        (n, [orjson.loads(r) for r in items[k : k + 100]])
                        for items in [served_json(dataset.amr, i, dataset_as_of())]
                        for n, k in enumerate(range(0, len(items), 100), start=1)
                    ],
                ),
            ):
                rows, rejected = assert_same_records(pages, source)
                totals[source][0] += rows
                totals[source][1] += rejected
    # the dataset's traps (unknown regions) are in it, and so are revoked AMR cases
    assert totals["court"][0] > 10000 and totals["court"][1] > 50
    assert totals["amr_cases"][0] > 10000 and totals["amr_cases"][1] > 50


COURT_CASE = {
    "case_no": "(2020)浙02知民初1号",
    "case_type": "民事",
    "trial_level": "一审",
    "right_type": "专利",
    "filed_date": "2020-03-02",
    "closed_date": "2020-03-20",
    "closing_method": "判决",
    "claim_amount": 120000.5,
    "award_amount": 30000,
    "punitive_damages": False,
    "appealed": None,
    "foreign_related": False,
    "court_code": "330200",
    "updated_at": "2020-03-20T10:11:12+08:00",
}
# faults within the types the contract gives each key: the columns keep their vectorised paths
COURT_TYPED_FAULTS = [
    {},
    {"case_no": ""},
    {"case_no": "  "},
    {"case_no": None},
    {"case_type": "民事 "},
    {"case_type": "民"},
    {"case_type": None},
    {"trial_level": "三审"},
    {"right_type": "专利权"},
    {"filed_date": "2020-02-30"},
    {"filed_date": "2020/3/5"},
    {"filed_date": "20200305"},
    {"filed_date": None},
    {"filed_date": " 2020-03-05 "},
    {"closed_date": None},
    {"closed_date": ""},
    {"closed_date": "2021-13-01"},
    {"closing_method": None},
    {"closing_method": ""},
    {"closing_method": "和解"},
    {"claim_amount": None},
    {"claim_amount": -1},
    {"claim_amount": -0.0},
    {"claim_amount": 0},
    {"claim_amount": 1e16},
    {"claim_amount": 0.1},
    {"claim_amount": 123456789012345678},
    {"award_amount": -0.01},
    {"punitive_damages": None},
    {"punitive_damages": True},
    {"appealed": True},
    {"foreign_related": None},
    {"court_code": "330299"},
    {"court_code": " 330203 "},
    {"court_code": None},
    {"updated_at": "2020-03-05T10:11:12Z"},
    {"updated_at": "2020-03-05 10:11:12+08:00"},
    {"updated_at": "2020-03-05T10:11:12"},
    {"updated_at": "2020-02-30T10:00:00+08:00"},
    {"updated_at": "2020-03-05T24:00:00+08:00"},
    {"updated_at": "2020-03-05T10:11:12.5+08:00"},
    {"updated_at": "2020-03-05T10:11:12+0800"},
    {"updated_at": "0000-03-05T10:11:12+08:00"},
    {"updated_at": " 2020-03-05T10:11:12+08:00 "},
    {"updated_at": "2020-03-05T10:11:60+08:00"},
    {"updated_at": "2020-03-05T10:11:12+24:00"},
    {"updated_at": "2020-W10-4T10:11:12+08:00"},
    {"updated_at": ""},
    {"updated_at": None},
    {"case_type": "x", "court_code": "1"},  # two faults: the first key checked names the reason
]
# values of types the contract does not give the key: read value by value
COURT_ODD_FAULTS = [
    {"case_no": 123},
    {"case_no": ["a"]},
    {"case_type": 1},
    {"filed_date": 20200305},
    {"closed_date": True},
    {"closing_method": {"a": 1}},
    {"claim_amount": "100.5"},
    {"claim_amount": "1,000"},
    {"claim_amount": True},
    {"claim_amount": [1]},
    {"award_amount": "abc"},
    {"punitive_damages": 1},
    {"punitive_damages": "true"},
    {"appealed": 0},
    {"court_code": 330200},
    {"court_code": 330299.0},
    {"updated_at": 5},
    {"updated_at": ["2020-03-05T10:11:12+08:00"]},
    {"claim_amount": float("nan")},
    {"award_amount": float("inf")},
]


def with_faults(base: dict, faults: list[dict]) -> list:
    """The valid record, then one record per fault: the record with those keys changed ({}: an
    empty object), then the record without a key it may lack and without one it may not."""
    optional, required = ("appealed", "updated_at") if "appealed" in base else ("closed_on", "updated_at")
    return [
        dict(base),
        *[{**base, **fault} if fault else {} for fault in faults],
        {k: v for k, v in base.items() if k != optional},
        {k: v for k, v in base.items() if k != required},
    ]


@pytest.mark.parametrize("faults", [COURT_TYPED_FAULTS, COURT_ODD_FAULTS], ids=["typed", "odd"])
def test_court_same_answers_on_faulty_records(faults):
    records = with_faults(COURT_CASE, faults)
    pages = [(1, records), (2, ["not an object", 5, None, [COURT_CASE], dict(COURT_CASE)])]
    rows, rejected = assert_same_records(pages, "court")
    assert rows >= 3 and rejected >= len(faults) // 2  # it cannot pass by refusing all, nor by taking all


AMR_CASE = {
    "case_id": "NBSJ-2020-000001",
    "category": "商标侵权",
    "opened_on": "2020-02-01",
    "closed_on": "2020-03-05",
    "status": "已结案",
    "fine_yuan": 5000,
    "transferred_to_police": False,
    "online": True,
    "region_code": "330203",
    "updated_at": "2020-03-05T10:00:00+08:00",
}
AMR_FAULTS = [
    {"case_id": ""},
    {"category": "假冒"},
    {"opened_on": "2020-02-30"},
    {"closed_on": None},
    {"status": "已撤销"},
    {"status": "撤销"},
    {"fine_yuan": 0},
    {"fine_yuan": None},
    {"fine_yuan": -5},
    {"fine_yuan": 12.34},
    {"transferred_to_police": None},
    {"online": None},
    {"region_code": "330299"},
    {"updated_at": "yesterday"},
]


@pytest.mark.parametrize("odd", [False, True], ids=["typed", "odd"])
def test_amr_cases_same_answers_on_faulty_records(odd):
    faults = AMR_FAULTS + ([{"fine_yuan": "5000"}, {"online": 1}, {"opened_on": 20200201}] if odd else [])
    rows, rejected = assert_same_records([(1, with_faults(AMR_CASE, faults)), (2, [[], dict(AMR_CASE)])], "amr_cases")
    assert rows >= 4 and rejected >= 9


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'{"a": "\\ud800"}',
        b'{"a": -0.0, "a": 2}',
        b'\xef\xbb\xbf{"a": 1}',
        b'{"a": 1,}',
        b"{'a': 1}",
        b'\xff{"a": 1}',
        b"",
        b'{"a": [1, 2.5, "x", null, true]}',
        b'{"a": 18446744073709551615}',
    ],
)
def test_json_pages_decode_as_the_standard_library_decodes_them(body):
    """orjson reads the pages; what it refuses, the standard library decides: the same documents
    and the same refusals as before (a body with an integer beyond 64 bits aside: see decode_json)."""
    import json

    from ingest.api import decode_json
    from ingest.base import FeedError

    try:
        expected = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        with pytest.raises(FeedError, match=f"invalid JSON \\({re.escape(str(exc))}\\)"):
            decode_json(body, "court", "2020-03", "http://sandbox/x")
        return
    got = decode_json(body, "court", "2020-03", "http://sandbox/x")
    assert repr(got) == repr(expected)  # nan == nan is false: compare what they print


def test_reading_does_not_import_pandas(tmp_path):
    """pyarrow would import pandas on its first use (≈ 0.8 s of every ingestion task's start-up);
    ingest.columnar keeps it from doing so, and an explicit conversion to pandas still works."""
    import subprocess
    import sys
    from pathlib import Path

    export = tmp_path / "police.csv"
    export.write_bytes(Dataset().police_file("2020-03")[0])
    script = (
        "import sys\n"
        "from ingest.base import Payload\n"
        "from ingest.registry import connector\n"
        "parsed = connector('police').parse([Payload('u', open(sys.argv[1], 'rb').read(), 200)], '2020-03')\n"
        "assert len(parsed.rows) > 0\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
        "assert type(parsed.rows.table.to_pandas()).__name__ == 'DataFrame'\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(export)], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
