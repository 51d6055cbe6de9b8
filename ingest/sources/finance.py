"""Finance — ``ipkpi_finance`` — monthly IP-pledge CSV, UTF-8 with BOM (SOURCES.md §5).

Quirks honoured: the BOM; the credential as an `access_token` query parameter (masked in every
archived URL, message and log); USCC check characters (GB 32100-2015) — a wrong one is a bad row;
the file for M also re-lists older registrations whose status changed in M (latest file wins
per 登记编号, the amount counts in the month of 登记日期: the mart's rules).

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

FINANCE = Agency(5, "finance", "ipkpi_finance", "地方金融监管部门", credential="?access_token=<password> (masked)")
# the contract's enumerations (SOURCES.md §5), in its order
PLEDGE_TYPES = ("专利权质押", "商标权质押", "著作权质押", "混合质押")
STATUSES = ("有效", "已注销", "已撤销")


FIELDS = (  # in the order a row is checked: the first bad field names the quarantine reason
    Field("登记编号", "registration_no", "required", "text not null"),
    Field("登记日期", "registration_date", "date", "date not null"),
    Field("质押类型", "pledge_type", "enum", "text not null", allowed=PLEDGE_TYPES),
    Field("出质人统一社会信用代码", "pledgor_uscc", "uscc", "text not null"),
    Field("质权人", "pledgee", "text", "text"),
    Field("融资金额（万元）", "amount_wan", "decimal", "numeric(20,6) not null"),
    Field("登记状态", "status", "enum", "text not null", allowed=STATUSES),
    Field("是否首贷", "is_first_loan", "flag", "boolean not null", flags={"是": True, "否": False}),
    Field("区县代码", "region_code", "region", "text not null"),
)


class Finance(Source):
    name = "finance"
    agency = FINANCE
    display_name = "知识产权质押融资登记"
    raw_table = "raw.finance_pledges"
    # a revoked record counts in no KPI, in any month (SOURCES.md): vintages name it as a revision's reason
    revoked = ("status", "已撤销")
    # usually out about two weeks after the month; a file may be re-issued up to 12 months later
    rhythm = Rhythm(lag_days=18, revisable_months=12)
    fields = FIELDS
    encoding = "utf-8-sig"

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.files import fetch_file

        return fetch_file(
            client,
            self.name,
            period,
            f"/open/ip-pledge/{period}.csv",
            params={"access_token": client.endpoint.password or ""},
            etag=etag,
        )

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from ingest.files import parse_csv

        return parse_csv(payloads[0], self.name, period, encoding=self.encoding, fields=FIELDS)


SOURCE = Finance()
