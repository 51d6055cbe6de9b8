"""Customs — ``ipkpi_customs`` — one XLSX workbook per month (SOURCES.md §2).

Quirks honoured: a title row, a unit row, then the header; a trailing ``合计`` row that is not a
seizure (kept in ``raw.customs_workbook_totals`` for the totals check, never loaded as data);
Excel date cells; ``案值（万元）`` a binary float rounded half-up to 4 places; a re-issued
workbook under the same URL (new ETag) replaces its month; 404 = not published yet.

The sheet is read by calamine (Rust: the XML parsed without a Python object per node or cell, six
times openpyxl's pace) and its rows checked a column at a time (``ingest.columnar``). The
workbook typing rules (:func:`typed`) make its cells read as openpyxl's did;
``tests/ingest/test_customs.py`` holds the two readings to the same rows and quarantine rows.

Import-light at the top (the registry imports it when the DAG file is parsed): the HTTP, Arrow,
numpy and workbook modules are imported inside ``fetch`` and ``parse``.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import InvalidOperation
from typing import TYPE_CHECKING

from ingest.base import Agency, Column, FeedError, Fetched, Parsed, Payload, Source
from ingest.calendar import Rhythm
from ingest.fields import Field, wan_4
from ingest.limits import Limits

if TYPE_CHECKING:
    from ingest.http import FeedClient

CUSTOMS = Agency(2, "customs", "ipkpi_customs", "宁波海关", credential="X-Access-Key: <password>")

SHEET = "查获明细"
UNIT_LINE = "填报单位：宁波海关　　计量单位：件、万元"
HEADER = (
    "序号",
    "查扣编号",
    "查获日期",
    "进出境",
    "渠道",
    "权利类型",
    "商品类别",
    "数量（件）",
    "案值（万元）",
    "专项行动",
    "处置状态",
)
TOTAL_MARK = "合计"
# the contract's enumerations (SOURCES.md §2), in its order
DIRECTIONS = ("进口", "出口")
CHANNELS = ("货运", "邮递", "快件", "旅检")
RIGHT_TYPES = ("商标权", "专利权", "著作权", "奥林匹克标志", "其他")
CAMPAIGNS = ("龙腾", "蓝网", "净网")
DISPOSITIONS = ("扣留", "没收", "放行")

FIELDS = (  # the sheet's columns, in the order a row is checked: the first bad one names the reason
    Field("查扣编号", "seizure_no", "required", "text not null"),
    Field("查获日期", "seizure_date", "cell_date", "date not null", in_period=True),
    Field("进出境", "direction", "enum", "text not null", allowed=DIRECTIONS),
    Field("渠道", "channel", "enum", "text not null", allowed=CHANNELS),
    Field("权利类型", "right_type", "enum", "text not null", allowed=RIGHT_TYPES),
    Field("专项行动", "campaign", "enum", "text", optional=True, allowed=CAMPAIGNS),
    Field("处置状态", "disposition", "enum", "text not null", allowed=DISPOSITIONS),
    Field("数量（件）", "quantity", "integer", "bigint not null"),
    Field("案值（万元）", "value_wan", "wan", "numeric(18,4) not null", note="rounded half-up to 4 places"),
    Field("序号", "seq", "ordinal", "int"),  # never refuses a row: kept when a whole number
    Field("商品类别", "goods_category", "text", "text"),
)
TEXT_KINDS = {"required", "enum", "text"}
AS_READ_NUMBERS = TEXT_KINDS | {"ordinal", "wan"}  # where a whole number must be an int to read as before (-0.0: 0)


def typed(cell):
    """A cell as the workbook typing rules read it (calamine gives every number as a float, a
    date cell as a date, an empty cell as ``""``) — as openpyxl read it:

    - a number is an int when it is whole (Excel keeps every number as a float; ``40068`` is a
      count, not ``40068.0``), else a float;
    - a date cell is a date-time (``2020-03-01 00:00:00`` where a text is read);
    - an empty cell is None; so is an error cell (``#N/A``: calamine gives no value for it) and a
      cell of only blanks written without ``xml:space="preserve"`` (every reader trims it to
      empty anyway).
    """
    if cell.__class__ is float and cell.is_integer():
        return int(cell)
    if cell.__class__ is dt.date:
        return dt.datetime.combine(cell, dt.time())
    return None if cell == "" else cell


def column_typed(column: tuple, kind: str) -> tuple:
    """A column's cells by the same rules, where they change a reading: numbers but in the count
    column (its reader reads 40068.0 as 40068), dates in a text column; ``""`` stays (every
    reader reads it as it reads None)."""
    types = set(map(type, column))
    if (float in types and kind in AS_READ_NUMBERS) or (dt.date in types and kind in TEXT_KINDS):
        return tuple(c if c == "" else typed(c) for c in column)
    return column


class Customs(Source):
    name = "customs"
    agency = CUSTOMS
    display_name = "宁波海关 侵权货物查扣"
    raw_table = "raw.customs_seizures"
    # usually out three weeks after the month; a corrected workbook up to 12 months later
    rhythm = Rhythm(lag_days=27, revisable_months=12)
    fields = FIELDS
    extra_tables = {
        "raw.customs_workbook_totals": (
            Column("title", "text", "row 1 of the sheet"),
            Column("quantity", "bigint", "合计 row: 数量（件）"),
            Column("value_wan", "numeric(18,4)", "合计 row: 案值（万元）"),
            Column("data_rows", "int", "rows above the 合计 row (all of them, 放行 and quarantined included)"),
        ),
    }

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.files import check_zip, fetch_file

        year, month = period.split("-")
        fetched = fetch_file(
            client,
            self.name,
            period,
            f"/reports/ipr-seizures/{year}/{month}.xlsx",
            etag=etag,
            headers={"X-Access-Key": client.endpoint.password or ""},
        )
        for payload in fetched.payloads:  # a zip bomb is refused here: before it is archived or opened
            check_zip(payload, self.name, period, client.limits)
        return fetched

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        """The sheet read by calamine (Rust: no Python object per XML node or cell), its rows
        checked a column at a time (``ingest.columnar``)."""
        import numpy as np
        from python_calamine import CalamineWorkbook

        from ingest.columnar import read_table
        from ingest.files import check_zip

        payload = payloads[0]
        fail = lambda message: FeedError(self.name, period, payload.url, message)  # noqa: E731
        check_zip(payload, self.name, period, Limits.from_env())  # fetch checked it; a parse alone checks too
        try:
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(payload.body))
            names = workbook.sheet_names
            if SHEET not in names:
                raise fail(f"sheet {SHEET!r} missing (sheets: {names})")
            # from A1, empty rows and columns included: row and column numbers are the sheet's
            rows = workbook.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
        except FeedError:
            raise
        except Exception as exc:
            raise fail(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
        title = _first(rows[0] if rows else ())
        header = tuple(
            c.strip() or None if isinstance(c, str) else c for c in (rows[2] if len(rows) > 2 else ())[: len(HEADER)]
        )
        if header != HEADER:
            missing = [h for h in HEADER if h not in header]
            raise fail(f"header row differs from the contract (missing {missing or 'none'}, got {list(header)})")

        data, numbers = [], []  # the data rows and their sheet row numbers, up to the 合计 row
        totals = None
        width = len(HEADER)
        for number, cells in enumerate(rows[3:], start=4):  # sheet row number, as a person would find it
            if len(cells) != width:
                cells = (list(cells[:width]) + [""] * width)[:width]
            if all(c is None or c == "" for c in cells):
                continue
            if isinstance(cells[0], str) and cells[0].strip() == TOTAL_MARK:
                totals = cells
                break
            data.append(cells)
            numbers.append(number)
        if totals is None:
            raise fail(f"no {TOTAL_MARK} row after the data rows")
        totals = [typed(c) for c in totals]
        try:
            total_qty, total_value = int(totals[7]), wan_4(totals[8])
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise fail(f"{TOTAL_MARK} row unreadable: {exc}") from exc

        by_header = list(zip(*data)) if data else [()] * width
        columns = [column_typed(by_header[HEADER.index(f.source)], f.kind) for f in FIELDS]
        parsed = read_table(
            columns,
            FIELDS,
            np.ones(len(data), np.int32),
            np.array(numbers, np.int32),
            lambda i: dict(zip(HEADER, map(typed, data[i]))),
            period,
        )
        parsed.extras["raw.customs_workbook_totals"] = [(1, number, title, total_qty, total_value, len(data))]
        parsed.promised = len(data)
        return parsed


def _first(cells) -> str | None:
    return next((c for c in cells if c not in (None, "")), None)


SOURCE = Customs()
