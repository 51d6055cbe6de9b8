"""Police — ``ipkpi_police`` — monthly CSV export, GBK (SOURCES.md §3).

Quirks honoured: GBK with CRLF, RFC-4180 quoting, blank lines at the end; dates as `YYYY-MM-DD`
or `YYYY/M/D`; amounts with thousands separators and decimals (`"1,234,500.50"`); HTTP Basic
auth with user `ipkpi` unless the connection sets a login. The file for month M holds every case
filed or changed in M in its current state: the latest file wins per 案件编号 (the mart's rule).
"""

from __future__ import annotations

from ingest import fields
from ingest.base import Column, Fetched, Parsed, Payload
from ingest.files import fetch_file, parse_csv
from ingest.http import FeedClient

HEADER = ("案件编号", "立案日期", "破案日期", "案由", "涉案金额（元）", "打处人数", "专项行动", "线索来源", "区县代码")
OFFENCES = {"假冒注册商标罪", "销售假冒注册商标的商品罪", "非法制造、销售非法制造的注册商标标识罪", "假冒专利罪",
            "侵犯著作权罪", "销售侵权复制品罪", "侵犯商业秘密罪", "为境外窃取、刺探、收买、非法提供商业秘密罪"}
CAMPAIGNS = {"蓝剑", "昆仑"}
LEAD_SOURCES = {"自行侦查", "群众举报", "行政移送-市场监管", "行政移送-海关", "上级交办"}


class Police:
    name = "police"
    conn_id = "ipkpi_police"
    raw_table = "raw.police_cases"
    columns = (
        Column("case_id", "text not null", "案件编号"),
        Column("filed_date", "date not null", "立案日期"),
        Column("solved_date", "date", "破案日期 (null while unsolved)"),
        Column("offence", "text not null", "案由"),
        Column("amount_yuan", "numeric(20,2) not null", "涉案金额（元）"),
        Column("suspects", "int not null", "打处人数"),
        Column("campaign", "text", "专项行动"),
        Column("lead_source", "text not null", "线索来源"),
        Column("region_code", "text not null", "区县代码"),
    )
    extra_tables: dict = {}

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        auth = (client.endpoint.login or "ipkpi", client.endpoint.password or "")
        return fetch_file(client, self.name, period, f"/exports/ipr_crime_{period.replace('-', '')}.csv",
                          etag=etag, auth=auth)

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        return parse_csv(payloads[0], self.name, period, encoding="gbk", header=HEADER, row=self._row)

    @staticmethod
    def _row(r: dict) -> tuple:
        filed = fields.date(r["立案日期"], "立案日期")
        solved = fields.date(r["破案日期"], "破案日期", optional=True)
        return (
            fields.required(r["案件编号"], "案件编号"),
            filed,
            solved,
            fields.enum(r["案由"], OFFENCES, "案由"),
            fields.decimal(r["涉案金额（元）"], "涉案金额（元）", thousands=True),
            fields.integer(r["打处人数"], "打处人数"),
            fields.enum(r["专项行动"], CAMPAIGNS, "专项行动", optional=True),
            fields.enum(r["线索来源"], LEAD_SOURCES, "线索来源"),
            fields.region(r["区县代码"]),
        )


SOURCE = Police()
