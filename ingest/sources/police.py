"""Police — ``ipkpi_police`` — monthly CSV export, GBK (SOURCES.md §3).

Quirks honoured: GBK with CRLF, RFC-4180 quoting, blank lines at the end; dates as `YYYY-MM-DD`
or `YYYY/M/D`; amounts with thousands separators and decimals (`"1,234,500.50"`); HTTP Basic
auth with user `ipkpi` unless the connection sets a login. The file for month M holds every case
filed or changed in M in its current state: the latest file wins per 案件编号 (the mart's rule).

Import-light at the top (the registry imports it when the DAG file is parsed): the HTTP and CSV
reading modules are imported inside ``fetch`` and ``parse``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.base import Agency, Fetched, Parsed, Payload, Source
from ingest.calendar import Rhythm
from ingest.fields import Field

if TYPE_CHECKING:
    from ingest.http import FeedClient

POLICE = Agency(3, "police", "ipkpi_police", "宁波市公安局", credential="HTTP Basic: <login or ipkpi>:<password>")
# the contract's enumerations (SOURCES.md §3), in its order. OFFENCES is the project's one list of
# 案由: the sandbox generates from it and tests hold the dbt seed, the staging tests and the oracle to it
OFFENCES = (
    "假冒注册商标罪",
    "销售假冒注册商标的商品罪",
    "非法制造、销售非法制造的注册商标标识罪",
    "假冒专利罪",
    "侵犯著作权罪",
    "销售侵权复制品罪",
    "侵犯商业秘密罪",
    "为境外窃取、刺探、收买、非法提供商业秘密罪",
)
CAMPAIGNS = ("蓝剑", "昆仑")
LEAD_SOURCES = ("自行侦查", "群众举报", "行政移送-市场监管", "行政移送-海关", "上级交办")


FIELDS = (  # in the order a row is checked: the first bad field names the quarantine reason
    Field("案件编号", "case_id", "required", "text not null"),
    Field("立案日期", "filed_date", "date", "date not null"),
    Field("破案日期", "solved_date", "date", "date", optional=True),
    Field("案由", "offence", "enum", "text not null", allowed=OFFENCES),
    Field("涉案金额（元）", "amount_yuan", "decimal", "numeric(20,2) not null", thousands=True),
    Field("打处人数", "suspects", "integer", "int not null"),
    Field("专项行动", "campaign", "enum", "text", optional=True, allowed=CAMPAIGNS),
    Field("线索来源", "lead_source", "enum", "text not null", allowed=LEAD_SOURCES),
    Field("区县代码", "region_code", "region", "text not null"),
)


class Police(Source):
    name = "police"
    agency = POLICE
    display_name = "宁波市公安局 知识产权刑事案件"
    raw_table = "raw.police_cases"
    # usually out within about ten days of the month; a file may be re-issued up to 12 months later
    rhythm = Rhythm(lag_days=14, revisable_months=12)
    fields = FIELDS
    encoding = "gbk"

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.files import fetch_file

        auth = (client.endpoint.login or "ipkpi", client.endpoint.password or "")
        return fetch_file(
            client, self.name, period, f"/exports/ipr_crime_{period.replace('-', '')}.csv", etag=etag, auth=auth
        )

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from ingest.files import parse_csv

        return parse_csv(payloads[0], self.name, period, encoding=self.encoding, fields=FIELDS)


SOURCE = Police()
