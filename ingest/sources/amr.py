"""Market regulation (the IP office) — ``ipkpi_amr`` — two JSON endpoints (SOURCES.md §4).

4a enforcement cases: a cursor-paged change feed per month (follow ``next_cursor`` until null);
raw keeps every version once (unique per ``case_id, updated_at``); the largest ``updated_at``
wins and revoked (已撤销) cases count nowhere — the mart's rules.

4b the statistics return: one document per month, re-published with higher revisions; every
revision is kept (a new revision is new content, hence a new load). District rows above the city
row are bad rows (the share is exempt). The ytd-never-decreases rule needs the previous month,
so it is checked in the warehouse (dbt + the gate), where every month's revisions are.

Import-light at the top (the registry imports it when the DAG file is parsed): the HTTP, JSON and
Arrow modules are imported inside ``fetch`` and ``parse``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.base import Agency, FeedError, Fetched, Parsed, Payload, Rejected, RowError, Source
from ingest.calendar import Rhythm
from ingest.fields import Field, key

if TYPE_CHECKING:
    from ingest.http import FeedClient

# one connection and one credential for both endpoints
AMR = Agency(4, "amr", "ipkpi_amr", "宁波市市场监管局", credential="X-Api-Key: <password>")
# the contract's enumerations (SOURCES.md §4a), in its order
CATEGORIES = ("专利侵权纠纷行政裁决", "假冒专利", "商标侵权", "商标假冒", "地理标志侵权", "其他")
STATUSES = ("办理中", "已结案", "已撤销")

# indicator -> (unit, basis), SOURCES.md §4b
INDICATORS = {
    "patent_grants_invention": ("件", "ytd"),
    "patent_grants_utility": ("件", "ytd"),
    "patent_grants_design": ("件", "ytd"),
    "pct_applications": ("件", "ytd"),
    "invention_patents_in_force": ("件", "stock"),
    "high_value_invention_patents_in_force": ("件", "stock"),
    "trademarks_in_force": ("件", "stock"),
    "madrid_registrations_in_force": ("件", "stock"),
    "geographical_indications": ("件", "stock"),
    "well_known_trademarks": ("件", "stock"),
    "copyright_registrations": ("件", "ytd"),
    "standard_compliant_entities": ("家", "stock"),
    "advantage_enterprises_national": ("家", "stock"),
    "rights_assistance_cases": ("件", "ytd"),
    "patent_pre_examinations": ("件", "ytd"),
    "mediation_cases_closed": ("件", "ytd"),
    "mediation_cases_succeeded": ("件", "ytd"),
    "patent_intensive_industry_va_share": ("%", "annual"),
    "resident_population": ("万人", "annual"),
}
NOT_ADDITIVE = {"patent_intensive_industry_va_share"}  # a share: a district may exceed the city

CASE_FIELDS = (  # 4a's JSON keys, in the order a record is checked: the first bad one names the reason
    key("case_id", "required", "text not null"),
    key("category", "enum", "text not null", allowed=CATEGORIES),
    key("opened_on", "date", "date not null", note="立案"),
    key("closed_on", "date", "date", optional=True, note="结案"),
    key("status", "enum", "text not null", allowed=STATUSES, note="办理中/已结案/已撤销"),
    key("fine_yuan", "decimal", "numeric(20,2) not null", note="罚没款 (元)"),
    key("transferred_to_police", "boolean", "boolean not null", note="移送公安"),
    key("online", "boolean", "boolean not null", note="涉网"),
    key("region_code", "region", "text not null"),
    key("updated_at", "timestamp", "timestamptz not null"),
)
STATISTICS_FIELDS = (  # 4b: the document's keys, then each row's — the raw columns, in order
    key("period", "required", "text not null", note="YYYY-MM"),
    key("revision", "integer", "int not null", note="(highest wins)"),
    key("published_at", "timestamp", "timestamptz not null"),
    key("indicator", "enum", "text not null", allowed=tuple(INDICATORS)),
    Field("region", "region_code", "region", "text not null"),
    key("value", "decimal", "numeric not null"),
    key("unit", "required", "text not null"),  # the indicator's, as INDICATORS gives it
    key("basis", "enum", "text not null", allowed=("ytd", "stock", "annual"), note="ytd/stock/annual"),
)
STATISTIC = {f.source: f for f in STATISTICS_FIELDS}
AT = {f.column: i for i, f in enumerate(STATISTICS_FIELDS, start=2)}  # a raw row's place of a column (after page, row)


class AmrCases(Source):
    name = "amr_cases"
    agency = AMR
    display_name = "宁波市市场监管局 行政执法案件"
    raw_table = "raw.amr_cases"
    # a revoked record counts in no KPI, in any month (SOURCES.md): vintages name it as a revision's reason
    revoked = ("status", "已撤销")
    # the month is over, so complete: its feed answers from the 1st of the next month
    rhythm = Rhythm(lag_days=1, revisable_months=0)
    version_key = ("case_id", "updated_at")
    fields = CASE_FIELDS

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.api import expect_keys, json_body, retry_short
        from ingest.http import public_url

        headers = {"X-Api-Key": client.endpoint.password or ""}
        payloads: list[Payload] = []
        cursor = None
        seen: dict[str, int] = {}  # cursor -> the page it was given on: a cursor given twice loops
        max_pages = client.limits.max_pages
        typical = 0  # the feed gives about 100 a page: a page far shorter than the first, not the last, is short
        for page in range(1, max_pages + 1):
            params = {"month": period, **({"cursor": cursor} if cursor else {})}

            def get_page():
                response = client.get(
                    "/api/v2/enforcement/cases", params=params, headers=headers, source=self.name, period=period
                )
                body = json_body(response, self.name, period)
                expect_keys(body, ("items", "next_cursor"), self.name, period, public_url(response.url))
                if not isinstance(body["items"], list):
                    raise FeedError(self.name, period, public_url(response.url), "items is not a list")
                if body["next_cursor"] is not None and not (
                    isinstance(body["next_cursor"], str) and body["next_cursor"]
                ):
                    raise FeedError(
                        self.name,
                        period,
                        public_url(response.url),
                        "next_cursor is neither a non-empty string nor null",
                    )
                return response, body

            response, body = retry_short(
                get_page,
                lambda r: r[1]["next_cursor"] is not None and len(r[1]["items"]) < typical,
                self.name,
                period,
                f"/api/v2/enforcement/cases page {page}",
            )
            if page == 1 and not body["items"] and body["next_cursor"] is None:
                return Fetched(not_published=True)  # an API month with no records: not yet available
            payloads.append(
                Payload(
                    public_url(response.url),
                    response.content,
                    200,
                    page=page,
                    document=body,
                    content_type=response.headers.get("Content-Type"),
                )
            )
            if page == 1:
                typical = len(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return Fetched(payloads)
            if cursor in seen:
                raise FeedError(
                    self.name,
                    period,
                    payloads[-1].url,
                    f"next_cursor of page {page} repeats the one page {seen[cursor]} gave: the cursors loop",
                )
            seen[cursor] = page
        raise FeedError(
            self.name,
            period,
            payloads[-1].url,
            f"still paging after {max_pages:,} pages: over the page cap (IPKPI_MAX_PAGES)",
        )

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from ingest.api import page_document
        from ingest.columnar import read_records

        return read_records([(p.page, page_document(p, self.name, period)["items"]) for p in payloads], CASE_FIELDS)


class AmrStatistics(Source):
    name = "amr_statistics"
    agency = AMR
    display_name = "宁波市市场监管局 知识产权统计月报"
    raw_table = "raw.amr_statistics"
    # usually out two to three weeks after the month; revisions up to 12 months later
    rhythm = Rhythm(lag_days=23, revisable_months=12)
    fields = STATISTICS_FIELDS

    def fetch(self, client: FeedClient, period: str, etag: str | None) -> Fetched:
        from ingest.files import fetch_file

        # no ETag promised by this endpoint: the revision number inside is the change marker
        return fetch_file(
            client,
            self.name,
            period,
            "/api/v2/statistics",
            params={"period": period},
            headers={"X-Api-Key": client.endpoint.password or ""},
            etag=None,
        )

    def parse(self, payloads: list[Payload], period: str) -> Parsed:
        from ingest.api import expect_keys, payload_json

        payload = payloads[0]
        doc = payload_json(payload, self.name, period)
        expect_keys(doc, ("period", "revision", "published_at", "rows"), self.name, period, payload.url)
        if doc["period"] != period:
            raise FeedError(self.name, period, payload.url, f"document is for period {doc['period']!r}")
        if not isinstance(doc["revision"], int) or not isinstance(doc["rows"], list):
            raise FeedError(self.name, period, payload.url, "revision must be an integer and rows a list")
        try:
            published_at = STATISTIC["published_at"].reader(doc["published_at"])
        except RowError as exc:
            raise FeedError(self.name, period, payload.url, exc.reason) from None

        parsed = Parsed(published_at=published_at)
        good: list[tuple[int, dict, dict]] = []
        for i, record in enumerate(doc["rows"], start=1):
            try:
                good.append((i, record, self._row(record, period)))
            except RowError as exc:
                parsed.rejected.append(Rejected(1, i, exc.reason, record))
        city = {row["indicator"]: row["value"] for _, _, row in good if row["region_code"] == "330200"}
        for i, record, row in good:
            indicator, region_code, value = row["indicator"], row["region_code"], row["value"]
            if (
                region_code != "330200"
                and indicator not in NOT_ADDITIVE
                and indicator in city
                and value > city[indicator]
            ):
                parsed.rejected.append(Rejected(1, i, "district_exceeds_city", record))
                continue
            row.update(period=doc["period"], revision=doc["revision"], published_at=published_at)
            parsed.rows.append((1, i, *[row[f.column] for f in STATISTICS_FIELDS]))
        return parsed

    def check_history(self, conn, period: str, parsed: Parsed) -> Parsed:
        """A ytd below the previous month's (same year) makes the whole document bad (Settled details):
        it goes to quarantine — kept, never used — and the gate blocks publication on it."""
        if period.endswith("-01"):
            return parsed
        year, month = period.split("-")
        previous = dict(
            ((i, r), v)
            for i, r, v in conn.execute(
                """SELECT s.indicator, s.region_code, s.value FROM raw.amr_statistics s
               JOIN raw.source_months m ON m.current_load_id = s.load_id
               WHERE m.source = %s AND m.period = %s AND s.basis = 'ytd'""",
                (self.name, f"{year}-{int(month) - 1:02d}"),
            )
        )
        indicator, region_code, value, basis = AT["indicator"], AT["region_code"], AT["value"], AT["basis"]
        offending = {
            (row[indicator], row[region_code])
            for row in parsed.rows
            if row[basis] == "ytd"
            and (row[indicator], row[region_code]) in previous
            and row[value] < previous[row[indicator], row[region_code]]
        }
        if not offending:
            return parsed
        doc = Parsed(rejected=list(parsed.rejected), published_at=parsed.published_at)
        for row in parsed.rows:
            where = (row[indicator], row[region_code])
            reason = (
                f"ytd_below_previous_month:{where[0]}@{where[1]}"
                if where in offending
                else "document_rejected:ytd_below_previous_month"
            )
            doc.rejected.append(
                Rejected(row[0], row[1], reason, {f.source: row[AT[f.column]] for f in STATISTICS_FIELDS})
            )
        return doc

    @staticmethod
    def _row(r: dict, period: str) -> dict:
        """A row's values by raw column; the unit and basis are the indicator's (INDICATORS)."""
        if not isinstance(r, dict):
            raise RowError("not_an_object")
        indicator = STATISTIC["indicator"].reader(r.get("indicator"))
        unit, basis = INDICATORS[indicator]
        if r.get("unit") != unit:
            raise RowError("invalid_enum:unit")
        if r.get("basis") != basis:
            raise RowError("invalid_enum:basis")
        if basis == "annual" and not period.endswith("-12"):
            raise RowError("annual_outside_december")
        return {
            "indicator": indicator,
            "region_code": STATISTIC["region"].reader(r.get("region")),
            "value": STATISTIC["value"].reader(r.get("value")),
            "unit": unit,
            "basis": basis,
        }


CASES = AmrCases()
STATISTICS = AmrStatistics()
