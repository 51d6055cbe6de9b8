"""Courts — ``ipkpi_court`` — JSON change feed, page-numbered (SOURCES.md §1).

The run for month M asks for ``[M-01T00:00+08:00, (M+1)-01T00:00+08:00)`` (local time, the `+`
URL-encoded). Pages of up to 500 (the maximum) until ``total`` rows are in; every page is
checked against ``total``. A case appears again each time it changes: raw keeps every version
once (unique per ``case_no, updated_at``); the largest ``updated_at`` wins in the mart.
Each page is decoded once, as it arrives; a month's records are read a column at a time
(``ingest.columnar``).

Import-light at the top (the registry imports it when the DAG file is parsed): the HTTP, JSON and
Arrow modules are imported inside ``fetch`` and ``parse``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pendulum

from ingest.base import Agency, FeedError, Fetched, Parsed, Payload, Source
from ingest.calendar import Rhythm
from ingest.fields import key

if TYPE_CHECKING:
    from ingest.http import FeedClient

COURT = Agency(1, "court", "ipkpi_court", "宁波市中级人民法院", credential="Authorization: Bearer <password>")
PAGE_SIZE = 500  # the feed's maximum: fewest requests
# the contract's enumerations (SOURCES.md §1), in its order
CASE_TYPES = ("民事", "刑事", "行政")
TRIAL_LEVELS = ("一审", "二审", "再审")
RIGHT_TYPES = ("专利", "商标", "著作权", "商业秘密", "植物新品种", "不正当竞争", "其他")
CLOSING_METHODS = ("判决", "调解", "撤诉", "驳回", "移送", "其他")

FIELDS = (  # the JSON keys, in the order a record is checked: the first bad one names the reason
    key("case_no", "required", "text not null", note="案号"),
    key("case_type", "enum", "text not null", allowed=CASE_TYPES, note="民事/刑事/行政"),
    key("trial_level", "enum", "text not null", allowed=TRIAL_LEVELS, note="一审/二审/再审"),
    key("right_type", "enum", "text not null", allowed=RIGHT_TYPES),
    key("filed_date", "date", "date not null", note="收案日期"),
    key("closed_date", "date", "date", optional=True, note="结案日期"),
    key("closing_method", "enum", "text", optional=True, allowed=CLOSING_METHODS),
    key("claim_amount", "decimal", "numeric(20,2)", optional=True, note="诉讼标的额 (元)"),
    key("award_amount", "decimal", "numeric(20,2)", optional=True, note="判赔金额 (元)"),
    key("punitive_damages", "boolean", "boolean not null"),
    key("appealed", "boolean", "boolean", optional=True),
    key("foreign_related", "boolean", "boolean not null", note="涉外"),
    key("court_code", "region", "text not null"),
    key("updated_at", "timestamp", "timestamptz not null"),
)


def window(period: str) -> tuple[str, str]:
    start = pendulum.from_format(period, "YYYY-MM", tz="Asia/Shanghai")
    return start.isoformat(), start.add(months=1).isoformat()


def valid_total(total) -> bool:
    return isinstance(total, int) and not isinstance(total, bool) and total >= 0


def check_total(total, page_size: int, max_pages: int, source: str, period: str, url: str) -> None:
    """``total`` is a count, and the pages it takes stay within the page cap (IPKPI_MAX_PAGES)."""
    if not valid_total(total):
        raise FeedError(source, period, url, f"total {total!r} is not a non-negative integer")
    pages = math.ceil(total / page_size)
    if pages > max_pages:
        raise FeedError(
            source,
            period,
            url,
            f"total {total:,} takes {pages:,} pages of {page_size}, over the "
            f"page cap of {max_pages:,} (IPKPI_MAX_PAGES)",
        )


class Court(Source):
    name = "court"
    agency = COURT
    display_name = "宁波市中级人民法院 知识产权案件"
    raw_table = "raw.court_cases"
    # a window is complete when it ends; a version recorded late is re-read within settle_days
    rhythm = Rhythm(lag_days=1, revisable_months=0)
    page_size = PAGE_SIZE
    version_key = ("case_no", "updated_at")
    fields = FIELDS

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.api import expect_keys, json_body, retry_short
        from ingest.http import public_url

        since, before = window(period)
        headers = {"Authorization": f"Bearer {client.endpoint.password or ''}"}
        payloads: list[Payload] = []
        received, total, page = 0, None, 1
        while total is None or received < total:
            params = {"updated_since": since, "updated_before": before, "page": page, "page_size": self.page_size}

            def get_page():
                response = client.get("/v1/ip-cases", params=params, headers=headers, source=self.name, period=period)
                body = json_body(response, self.name, period)
                expect_keys(body, ("total", "data"), self.name, period, public_url(response.url))
                return response, body

            def short(result):
                _, body = result
                if not valid_total(body["total"]):
                    return False  # not a count: refused below
                expected = min(self.page_size, body["total"] - received)
                return isinstance(body["data"], list) and len(body["data"]) < expected

            response, body = retry_short(get_page, short, self.name, period, f"/v1/ip-cases page {page}")
            url = public_url(response.url)
            if total is not None and body["total"] != total:
                raise FeedError(self.name, period, url, f"total changed while paging ({total} → {body['total']})")
            total = body["total"]
            if page == 1:  # what total promises is checked before a second page is asked for
                check_total(total, self.page_size, client.limits.max_pages, self.name, period, url)
            if not isinstance(body["data"], list) or len(body["data"]) > self.page_size:
                raise FeedError(self.name, period, url, "data is not a list of at most page_size records")
            if total == 0:
                return Fetched(not_published=True)  # an API month with no records: not yet available
            payloads.append(
                Payload(
                    url,
                    response.content,
                    200,
                    page=page,
                    document=body,
                    content_type=response.headers.get("Content-Type"),
                )
            )
            received += len(body["data"])
            if not body["data"] and received < total:
                raise FeedError(self.name, period, url, f"received {received} of total {total}, then an empty page")
            page += 1
            if page > math.ceil(total / self.page_size) + 1:
                raise FeedError(self.name, period, url, f"more pages than total {total} allows")
        if received != total:
            raise FeedError(self.name, period, payloads[-1].url, f"received {received} records, total says {total}")
        return Fetched(payloads)

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from ingest.api import page_document
        from ingest.columnar import read_records

        pages = [(p.page, page_document(p, self.name, period)) for p in payloads]
        parsed = read_records([(page, body["data"]) for page, body in pages], FIELDS)
        parsed.promised = pages[0][1]["total"]
        return parsed


SOURCE = Court()
