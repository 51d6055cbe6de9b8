"""Customs — ``ipkpi_customs`` — one XLSX workbook per month (SOURCES.md §2).

Quirks honoured: a title row, a unit row, then the header; a trailing ``合计`` row that is not a
seizure (kept in ``raw.customs_workbook_totals`` for the totals check, never loaded as data);
Excel date cells; ``案值（万元）`` a binary float rounded half-up to 4 places; a re-issued
workbook under the same URL (new ETag) replaces its month; 404 = not published yet.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ingest import fields
from ingest.base import Column, FeedError, Fetched, Parsed, Payload, Rejected, RowError
from ingest.calendar import Rhythm
from ingest.files import check_zip, fetch_file
from ingest.http import FeedClient
from ingest.limits import Limits

SHEET = "查获明细"
UNIT_LINE = "填报单位：宁波海关　　计量单位：件、万元"
HEADER = ("序号", "查扣编号", "查获日期", "进出境", "渠道", "权利类型", "商品类别", "数量（件）", "案值（万元）",
          "专项行动", "处置状态")
TOTAL_MARK = "合计"
DIRECTIONS = {"进口", "出口"}
CHANNELS = {"货运", "邮递", "快件", "旅检"}
RIGHT_TYPES = {"商标权", "专利权", "著作权", "奥林匹克标志", "其他"}
CAMPAIGNS = {"龙腾", "蓝网", "净网"}
DISPOSITIONS = {"扣留", "没收", "放行"}
FOUR_PLACES = Decimal("0.0001")


def wan_4(value) -> Decimal:
    """A 万元 cell (a binary float) as the 4-decimal number it shows, rounded half-up."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InvalidOperation(f"not a number: {value!r}")
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(FOUR_PLACES, ROUND_HALF_UP)


class Customs:
    name = "customs"
    conn_id = "ipkpi_customs"
    raw_table = "raw.customs_seizures"
    # usually out three weeks after the month; a corrected workbook up to 12 months later
    rhythm = Rhythm(lag_days=27, revisable_months=12)
    columns = (
        Column("seq", "int", "序号"),
        Column("seizure_no", "text not null", "查扣编号"),
        Column("seizure_date", "date not null", "查获日期"),
        Column("direction", "text not null", "进出境"),
        Column("channel", "text not null", "渠道"),
        Column("right_type", "text not null", "权利类型"),
        Column("goods_category", "text", "商品类别"),
        Column("quantity", "bigint not null", "数量（件）"),
        Column("value_wan", "numeric(18,4) not null", "案值（万元）, rounded half-up to 4 places"),
        Column("campaign", "text", "专项行动"),
        Column("disposition", "text not null", "处置状态"),
    )
    extra_tables = {
        "raw.customs_workbook_totals": (
            Column("title", "text", "row 1 of the sheet"),
            Column("quantity", "bigint", "合计 row: 数量（件）"),
            Column("value_wan", "numeric(18,4)", "合计 row: 案值（万元）"),
            Column("data_rows", "int", "rows above the 合计 row (all of them, 放行 and quarantined included)"),
        ),
    }

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        year, month = period.split("-")
        fetched = fetch_file(client, self.name, period, f"/reports/ipr-seizures/{year}/{month}.xlsx", etag=etag,
                             headers={"X-Access-Key": client.endpoint.password or ""})
        for payload in fetched.payloads:  # a zip bomb is refused here: before it is archived or opened
            check_zip(payload, self.name, period, client.limits)
        return fetched

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from openpyxl import load_workbook

        payload = payloads[0]
        fail = lambda message: FeedError(self.name, period, payload.url, message)  # noqa: E731
        check_zip(payload, self.name, period, Limits.from_env())  # fetch checked it; a parse alone checks too
        try:
            workbook = load_workbook(io.BytesIO(payload.body), read_only=True, data_only=True)
        except Exception as exc:
            raise fail(f"not a readable XLSX workbook ({type(exc).__name__})") from exc
        if SHEET not in workbook.sheetnames:
            raise fail(f"sheet {SHEET!r} missing (sheets: {workbook.sheetnames})")
        rows = workbook[SHEET].iter_rows(values_only=True)
        title = _first(next(rows, ()))
        next(rows, None)  # the unit row: 填报单位 / 计量单位
        header = tuple((c or "").strip() if isinstance(c, str) else c for c in next(rows, ())[: len(HEADER)])
        if header != HEADER:
            missing = [h for h in HEADER if h not in header]
            raise fail(f"header row differs from the contract (missing {missing or 'none'}, got {list(header)})")

        parsed = Parsed()
        totals = None
        data_rows = 0
        for offset, cells in enumerate(rows, start=4):  # sheet row number, as a person would find it
            cells = tuple(cells[: len(HEADER)]) + (None,) * (len(HEADER) - len(cells))
            if all(c is None or c == "" for c in cells):
                continue
            if isinstance(cells[0], str) and cells[0].strip() == TOTAL_MARK:
                totals = cells
                break
            data_rows += 1
            record = dict(zip(HEADER, cells))
            try:
                parsed.rows.append((1, offset, *self._row(record, period)))
            except RowError as exc:
                parsed.rejected.append(Rejected(1, offset, exc.reason, record))
        if totals is None:
            raise fail(f"no {TOTAL_MARK} row after the data rows")
        try:
            total_qty, total_value = int(totals[7]), wan_4(totals[8])
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise fail(f"{TOTAL_MARK} row unreadable: {exc}") from exc
        parsed.extras["raw.customs_workbook_totals"] = [(1, offset, title, total_qty, total_value, data_rows)]
        parsed.promised = data_rows
        return parsed

    @staticmethod
    def _row(r: dict, period: str) -> tuple:
        seizure_no = fields.required(r["查扣编号"], "查扣编号")
        if not isinstance(r["查获日期"], (dt.date, dt.datetime)):  # the contract: an Excel date cell
            raise RowError("unparsable_date:查获日期")
        date = fields.date(r["查获日期"], "查获日期")
        if date.strftime("%Y-%m") != period:
            raise RowError("date_outside_period:查获日期")
        direction = fields.enum(r["进出境"], DIRECTIONS, "进出境")
        channel = fields.enum(r["渠道"], CHANNELS, "渠道")
        right_type = fields.enum(r["权利类型"], RIGHT_TYPES, "权利类型")
        campaign = fields.enum(r["专项行动"], CAMPAIGNS, "专项行动", optional=True)
        disposition = fields.enum(r["处置状态"], DISPOSITIONS, "处置状态")
        quantity = fields.integer(r["数量（件）"], "数量（件）")
        try:
            value = wan_4(r["案值（万元）"])
        except InvalidOperation:
            raise RowError("unparsable_number:案值（万元）") from None
        if value < 0:
            raise RowError("negative_number:案值（万元）")
        seq = r["序号"] if isinstance(r["序号"], int) else None
        return (seq, seizure_no, date, direction, channel, right_type, fields.text(r["商品类别"]) or None,
                quantity, value, campaign, disposition)


def _first(cells) -> str | None:
    return next((c for c in cells if c not in (None, "")), None)


SOURCE = Customs()
