"""Finance — ``ipkpi_finance`` — monthly IP-pledge CSV, UTF-8 with BOM (SOURCES.md §5).

Quirks honoured: the BOM; the credential as an `access_token` query parameter (masked in every
archived URL, message and log); USCC check characters (GB 32100-2015) — a wrong one is a bad row;
the file for M also re-lists older registrations whose status changed in M (latest file wins
per 登记编号, the amount counts in the month of 登记日期: the mart's rules).
"""

from __future__ import annotations

from ingest import fields
from ingest.base import Column, Fetched, Parsed, Payload
from ingest.files import fetch_file, parse_csv
from ingest.http import FeedClient

HEADER = ("登记编号", "登记日期", "质押类型", "出质人统一社会信用代码", "质权人", "融资金额（万元）", "登记状态",
          "是否首贷", "区县代码")
PLEDGE_TYPES = {"专利权质押", "商标权质押", "著作权质押", "混合质押"}
STATUSES = {"有效", "已注销", "已撤销"}
FIRST_LOAN = {"是": True, "否": False}


class Finance:
    name = "finance"
    conn_id = "ipkpi_finance"
    raw_table = "raw.finance_pledges"
    columns = (
        Column("registration_no", "text not null", "登记编号"),
        Column("registration_date", "date not null", "登记日期"),
        Column("pledge_type", "text not null", "质押类型"),
        Column("pledgor_uscc", "text not null", "出质人统一社会信用代码"),
        Column("pledgee", "text", "质权人"),
        Column("amount_wan", "numeric(20,6) not null", "融资金额（万元）"),
        Column("status", "text not null", "登记状态"),
        Column("is_first_loan", "boolean not null", "是否首贷"),
        Column("region_code", "text not null", "区县代码"),
    )
    extra_tables: dict = {}

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        return fetch_file(client, self.name, period, f"/open/ip-pledge/{period}.csv",
                          params={"access_token": client.endpoint.password or ""}, etag=etag)

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        return parse_csv(payloads[0], self.name, period, encoding="utf-8-sig", header=HEADER, row=self._row)

    @staticmethod
    def _row(r: dict) -> tuple:
        first = fields.enum(r["是否首贷"], FIRST_LOAN, "是否首贷")
        return (
            fields.required(r["登记编号"], "登记编号"),
            fields.date(r["登记日期"], "登记日期"),
            fields.enum(r["质押类型"], PLEDGE_TYPES, "质押类型"),
            fields.uscc(r["出质人统一社会信用代码"], "出质人统一社会信用代码"),
            fields.text(r["质权人"]) or None,
            fields.decimal(r["融资金额（万元）"], "融资金额（万元）"),
            fields.enum(r["登记状态"], STATUSES, "登记状态"),
            FIRST_LOAN[first],
            fields.region(r["区县代码"]),
        )


SOURCE = Finance()
