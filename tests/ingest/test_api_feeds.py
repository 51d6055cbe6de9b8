"""Courts and AMR over real HTTP: local-time windows sent as %2B08:00, paging checked against
total, change-feed versions kept once, cursors, empty months, statistics revisions, bad rows and
bad documents."""

from __future__ import annotations

import json

import pytest

from ingest.base import FeedError
from ingest.http import AuthError, Endpoint
from ingest.registry import connector
from ingest.runner import ingest_months
from sandbox import Dataset, SandboxConfig, start_server
from tests.ingest.conftest import query

DATASET = Dataset()
YEAR = [f"2020-{m:02d}" for m in range(1, 13)]


def test_court_windows_are_local_time_and_every_version_is_kept(raw_db, endpoint_for, monkeypatch):
    monkeypatch.setattr(connector("court"), "page_size", 50)  # several pages a window
    report = ingest_months("court", YEAR, raw_db, endpoint_for("ipkpi_court"))
    assert report.count("loaded") == 12
    urls = [u for (u,) in query(raw_db, "SELECT url FROM raw.fetches WHERE page = 1 ORDER BY fetch_id")]
    assert (
        "updated_since=2020-03-01T00%3A00%3A00%2B08%3A00" in urls[2]
        or "updated_since=2020-03-01T00:00:00%2B08:00" in urls[2]
    )
    assert query(raw_db, "SELECT max(page) FROM raw.fetches")[0][0] > 1
    # exactly the versions the feed holds for those windows, each once
    truth = DATASET.court_versions("2020-01-01T00:00:00+08:00", "2021-01-01T00:00:00+08:00")
    got = query(raw_db, "SELECT case_no, updated_at FROM raw.court_cases")
    ((quarantined,),) = query(raw_db, "SELECT count(*) FROM quarantine.rows")
    assert len(got) == len(set(got)) and len(got) + quarantined == len(truth)
    # a version stamped early on the 1st in +08:00 is in that local month's window, though UTC says the month before
    local_first = query(
        raw_db,
        """SELECT count(*) FROM raw.court_cases c JOIN raw.loads l USING (load_id)
                                   WHERE to_char(c.updated_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = l.period
                                     AND to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM') <> l.period""",
    )[0][0]
    assert local_first > 0
    # a case re-appears in a later window with its later state: both versions kept
    ((multi,),) = query(
        raw_db, "SELECT count(*) FROM (SELECT case_no FROM raw.court_cases GROUP BY 1 HAVING count(*) > 1) m"
    )
    assert multi > 0


def test_court_total_mismatch_fails_the_payload(raw_db, static_server):
    page = {
        "total": 3,
        "page": 1,
        "page_size": 500,
        "data": [{"case_no": "(2020)浙02知民初1号"}],
    }  # 1 of 3, and nothing more to come
    endpoint = Endpoint("ipkpi_court", static_server(json.dumps(page, ensure_ascii=False).encode()), "k")
    with pytest.raises(FeedError) as err:
        ingest_months("court", ["2020-04"], raw_db, endpoint, http_options={"backoff": 0.01})
    assert "court 2020-04" in str(err.value) and "/v1/ip-cases" in str(err.value)


@pytest.mark.parametrize("body, problem", [(b"{not json", "invalid JSON"), (b'{"data": []}', "lacks")])
def test_court_malformed_json_fails(raw_db, static_server, body, problem):
    endpoint = Endpoint("ipkpi_court", static_server(body), "k")
    with pytest.raises(FeedError, match=problem):
        ingest_months("court", ["2020-04"], raw_db, endpoint)


def test_empty_api_month_is_not_published_not_zero(raw_db, endpoint_for, sandbox_credentials):
    early = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, as_of="2020-03-10T00:00:00+08:00")
    )
    try:
        court = ingest_months("court", ["2020-04"], raw_db, endpoint_for("ipkpi_court", early))
        amr = ingest_months("amr_cases", ["2020-04"], raw_db, endpoint_for("ipkpi_amr", early))
    finally:
        early.stop()
    assert court.months[0].outcome == amr.months[0].outcome == "not_published"
    assert query(raw_db, "SELECT source, status FROM raw.source_months ORDER BY 1") == [
        ("amr_cases", "not_published"),
        ("court", "not_published"),
    ]


@pytest.mark.parametrize(
    "conn_id, source", [("ipkpi_court", "court"), ("ipkpi_amr", "amr_cases"), ("ipkpi_amr", "amr_statistics")]
)
def test_api_auth_errors_name_the_connection(raw_db, endpoint_for, conn_id, source):
    for password in ("", "wrong"):
        with pytest.raises(AuthError, match=conn_id):
            ingest_months(source, ["2020-04"], raw_db, endpoint_for(conn_id, password=password))


def test_amr_cases_follow_the_cursor(raw_db, endpoint_for):
    report = ingest_months("amr_cases", YEAR, raw_db, endpoint_for("ipkpi_amr"))
    assert report.count("loaded") == 12
    pages = dict(query(raw_db, "SELECT period, max(page) FROM raw.fetches GROUP BY 1"))
    assert max(pages.values()) > 1  # ~100 items a page: busy months take several
    # a case is listed in every month it changed, in its current state: each version is kept once
    truth = {(c["case_id"], c["updated_at"]) for p in YEAR for c in DATASET.amr_cases(p)}
    rows = query(
        raw_db,
        "SELECT case_id, to_char(updated_at AT TIME ZONE 'Asia/Shanghai', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"+08:00"\') FROM raw.amr_cases',
    )
    quarantined = query(raw_db, "SELECT DISTINCT record->>'case_id', record->>'updated_at' FROM quarantine.rows")
    assert len(rows) == len(set(rows))
    assert set(rows) | set(quarantined) == truth
    statuses = {s for (s,) in query(raw_db, "SELECT DISTINCT status FROM raw.amr_cases")}
    assert "已撤销" in statuses  # revoked cases are kept in raw; the mart excludes them


def test_statistics_revisions_are_all_kept(raw_db, endpoint_for, sandbox_credentials):
    period = next(
        p
        for p in (f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13))
        if len(DATASET.amr_statistics_revisions(p)) > 1
    )
    first, second = DATASET.amr_statistics_revisions(period)[:2]
    before = start_server(
        "127.0.0.1",
        0,
        SandboxConfig(
            credentials=sandbox_credentials, as_of=second["published_at"].replace("T", " ")[:10] + "T00:00:00+08:00"
        ),
    )
    try:
        ingest_months("amr_statistics", [period], raw_db, endpoint_for("ipkpi_amr", before))
    finally:
        before.stop()
    ingest_months("amr_statistics", [period], raw_db, endpoint_for("ipkpi_amr"))
    revisions = [r for (r,) in query(raw_db, "SELECT DISTINCT revision FROM raw.amr_statistics ORDER BY 1")]
    assert revisions[:2] == [first["revision"], second["revision"]]
    ((current,),) = query(
        raw_db,
        "SELECT s.revision FROM raw.amr_statistics s JOIN raw.source_months m ON m.current_load_id = s.load_id LIMIT 1",
    )
    assert current == max(revisions)


def test_statistics_district_above_city_is_quarantined(raw_db, endpoint_for):
    ingest_months("amr_statistics", YEAR, raw_db, endpoint_for("ipkpi_amr"))
    bad = query(
        raw_db,
        """SELECT q.record->>'indicator', (q.record->>'value')::numeric, c.value
                           FROM quarantine.rows q JOIN raw.amr_statistics c
                             ON c.load_id = q.load_id AND c.indicator = q.record->>'indicator' AND c.region_code = '330200'
                           WHERE q.reason = 'district_exceeds_city'""",
    )
    assert all(district > city for _, district, city in bad)
    over = query(
        raw_db,
        """SELECT count(*) FROM raw.amr_statistics d JOIN raw.amr_statistics c
                              ON c.load_id = d.load_id AND c.indicator = d.indicator AND c.region_code = '330200'
                            WHERE d.region_code <> '330200' AND d.value > c.value
                              AND d.indicator <> 'patent_intensive_industry_va_share'""",
    )
    assert over == [(0,)]


def test_statistics_ytd_below_previous_month_quarantines_the_document(raw_db, endpoint_for, sandbox_credentials):
    server = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, traps={"ytd_decrease": "2021-05"})
    )
    try:
        months = ["2021-03", "2021-04", "2021-05", "2021-06"]
        ingest_months("amr_statistics", months, raw_db, endpoint_for("ipkpi_amr", server))
    finally:
        server.stop()
    loaded = dict(query(raw_db, "SELECT l.period, l.rows_loaded FROM raw.loads l"))
    assert loaded["2021-05"] == 0 and loaded["2021-04"] > 0
    reasons = [r for (r,) in query(raw_db, "SELECT DISTINCT reason FROM quarantine.rows WHERE period = '2021-05'")]
    assert any(r.startswith("ytd_below_previous_month:") for r in reasons)
    assert "document_rejected:ytd_below_previous_month" in reasons
    assert (
        query(
            raw_db, "SELECT count(*) FROM raw.payloads p JOIN raw.fetches f USING (sha256) WHERE f.period = '2021-05'"
        )[0][0]
        == 1
    )  # kept
