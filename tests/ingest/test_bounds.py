"""Bounded hostile feed input (issue 14, item 3): against the sandbox's opt-in hostile modes, each
bound fails fast — a FeedError naming source, period and URL (credentials masked), raised once
(no retry: the same request would meet the same body) — and nothing of the payload reaches the
raw layer. The limits are set small through their environment variables so the file stays fast.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter

import pytest

from ingest.base import FeedError
from ingest.http import BODY_PIECE, Endpoint, FeedClient
from ingest.limits import MB, Limits
from ingest.registry import SOURCES, connector
from ingest.runner import ingest_months
from sandbox import SandboxConfig, start_server
from tests.ingest.conftest import query

PERIOD = "2020-03"
HTTP = {"timeout": (2.0, 5.0), "retries": 3, "backoff": 0.05, "backoff_max": 0.2}
SMALL = {
    "IPKPI_MAX_PAYLOAD_MB": "2",
    "IPKPI_MAX_UNZIPPED_MB": "8",
    "IPKPI_MAX_ZIP_RATIO": "200",
    "IPKPI_REQUEST_DEADLINE_S": "1.5",
    "IPKPI_MAX_PAGES": "25",
}
PATHS = {
    "police": "/exports/ipr_crime_202003.csv",
    "finance": "/open/ip-pledge/2020-03.csv",
    "customs": "/reports/ipr-seizures/2020/03.xlsx",
    "court": "/v1/ip-cases",
    "amr_cases": "/api/v2/enforcement/cases",
}


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    for variable, value in SMALL.items():
        monkeypatch.setenv(variable, value)


@pytest.fixture
def hostile(sandbox, sandbox_credentials):
    """A sandbox with hostile modes on (sharing the session's dataset), counting requests per path."""
    servers = []

    def start(modes, **options):
        server = start_server(
            "127.0.0.1",
            0,
            SandboxConfig(credentials=sandbox_credentials, hostile=modes, **options),
            dataset=sandbox.dataset,
        )
        server.requests = Counter()
        route = server.app.route

        def counting(path):
            server.requests[path] += 1
            return route(path)

        server.app.route = counting  # the handler looks the route up on the app: every request counts
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def refused(source: str, server, raw_db: str, sandbox_credentials, *, within: float) -> str:
    """Ingest ``source`` for PERIOD from ``server`` the way a task does: it must fail with a FeedError
    naming source, period and URL within ``within`` seconds and leave raw and quarantine empty."""
    agency = SOURCES[source].removeprefix("ipkpi_")
    endpoint = Endpoint(SOURCES[source], server.url, sandbox_credentials[agency])
    started = time.monotonic()
    with pytest.raises(FeedError) as err:
        ingest_months(source, [PERIOD], raw_db, endpoint, run_id="hostile", http_options=HTTP)
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert elapsed < within, f"{elapsed:.1f} s: {message}"
    assert (err.value.source, err.value.period) == (source, PERIOD)
    assert message.startswith(f"{source} {PERIOD}: ")
    assert f"({server.url}{PATHS[source]}" in message, message
    assert sandbox_credentials[agency] not in message
    assert nothing_loaded(raw_db, source)
    return message


def nothing_loaded(dsn: str, source: str) -> bool:
    counts = {
        table: query(dsn, f"SELECT count(*) FROM {table}")[0][0]
        for table in (
            "raw.payloads",
            "raw.fetches",
            "raw.loads",
            "raw.source_months",
            "quarantine.rows",
            connector(source).raw_table,
        )
    }
    assert not any(counts.values()), counts
    return True


# --- payload size: declared, streamed, decompressed ------------------------------------------------


def test_huge_body_refused_on_its_content_length(hostile, raw_db, sandbox_credentials):
    server = hostile(("huge_body",), hostile_size=256 * MB)
    message = refused("police", server, raw_db, sandbox_credentials, within=5)
    assert "Content-Length 268,435,456 bytes, over the payload cap of 2 MB (IPKPI_MAX_PAYLOAD_MB)" in message
    assert server.requests[PATHS["police"]] == 1  # not retried


def test_unbounded_body_stops_at_the_cap(hostile, raw_db, sandbox_credentials):
    """No Content-Length: the body is counted as it arrives and reading stops past the cap (the finance
    credential, a query parameter, is masked in the message)."""
    server = hostile(("unbounded_body",), hostile_size=256 * MB)
    message = refused("finance", server, raw_db, sandbox_credentials, within=5)
    assert "over the payload cap of 2 MB (IPKPI_MAX_PAYLOAD_MB): stopped after 3,145,728 bytes" in message
    assert "access_token=***" in message
    assert server.requests[PATHS["finance"]] == 1


def test_gzip_bomb_stops_at_the_cap_decoded(hostile, raw_db, sandbox_credentials):
    server = hostile(("gzip_bomb",), hostile_size=64 * MB)  # ≈64 KB on the wire
    message = refused("police", server, raw_db, sandbox_credentials, within=10)
    assert "over the payload cap of 2 MB (IPKPI_MAX_PAYLOAD_MB): stopped after 3,145,728 bytes decoded" in message
    assert server.requests[PATHS["police"]] == 1


def test_a_bomb_never_holds_more_than_the_cap_and_a_piece(hostile, sandbox_credentials):
    """Memory, measured: reading a 64 MB gzip bomb under a 2 MB cap allocates about the cap plus one
    1 MB piece (plus zlib's window), never the body."""
    server = hostile(("gzip_bomb",), hostile_size=64 * MB)
    client = FeedClient(Endpoint("ipkpi_police", server.url, sandbox_credentials["police"]), **HTTP)
    try:
        client.get("/_sandbox/health", source="police", period=PERIOD)  # connection and imports warmed up
        tracemalloc.start()
        with pytest.raises(FeedError, match="payload cap"):
            client.get(PATHS["police"], source="police", period=PERIOD, auth=("ipkpi", sandbox_credentials["police"]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    print(f"peak {peak / MB:.1f} MB")
    assert peak < 2 * MB + 2 * BODY_PIECE + 1 * MB, f"peak {peak / MB:.1f} MB"


# --- a workbook that would unzip past the bounds -----------------------------------------------------


@pytest.mark.parametrize(
    "limit, expected",
    [
        ({}, "unzips to 16,777,216 bytes, over the cap of 8 MB (IPKPI_MAX_UNZIPPED_MB)"),
        ({"IPKPI_MAX_UNZIPPED_MB": "2048"}, "over the ratio cap of 200 (IPKPI_MAX_ZIP_RATIO)"),
    ],
)
def test_zip_bomb_refused_before_it_is_opened(limit, expected, hostile, raw_db, sandbox_credentials, monkeypatch):
    for variable, value in limit.items():
        monkeypatch.setenv(variable, value)
    server = hostile(("zip_bomb",), hostile_size=16 * MB)
    message = refused("customs", server, raw_db, sandbox_credentials, within=10)
    assert "workbook refused before unzipping: entry 'xl/worksheets/sheet1.xml'" in message
    assert expected in message


def test_customs_parse_refuses_a_zip_bomb_too(hostile, sandbox_credentials, monkeypatch):
    """A workbook parsed without its fetch (a tool re-reading an archived payload) is checked too."""
    server = hostile(("zip_bomb",), hostile_size=16 * MB)
    monkeypatch.setenv("IPKPI_MAX_UNZIPPED_MB", "2048")
    monkeypatch.setenv("IPKPI_MAX_ZIP_RATIO", "100000")  # let it through the fetch
    client = FeedClient(Endpoint("ipkpi_customs", server.url, sandbox_credentials["customs"]), **HTTP)
    try:
        fetched = connector("customs").fetch(client, PERIOD, etag=None)
    finally:
        client.close()
    monkeypatch.setenv("IPKPI_MAX_UNZIPPED_MB", "8")
    with pytest.raises(FeedError, match="workbook refused before unzipping"):
        connector("customs").parse(fetched.payloads, PERIOD)


def test_a_bomb_that_lies_about_its_size_is_not_unzipped_past_it():
    """A zip whose directory and local header say its sheet is small passes the central-directory
    check; the reader (calamine's zip) stops at the declared size and the workbook is refused."""
    import io
    import struct
    import zipfile

    from ingest.base import Payload
    from sandbox import Dataset
    from sandbox.hostile import zip_bomb

    body = bytearray(zip_bomb(Dataset().customs_workbook(PERIOD)[0], 16 * MB))
    sheet = "xl/worksheets/sheet1.xml"
    header = zipfile.ZipFile(io.BytesIO(bytes(body))).getinfo(sheet).header_offset
    struct.pack_into("<I", body, header + 22, 5000)  # the local header's uncompressed size
    at = body.find(b"PK\x01\x02" + bytes(body[header + 4 : header + 4]))
    while at >= 0:  # its central directory record's
        if body[at + 46 : at + 46 + struct.unpack_from("<H", body, at + 28)[0]] == sheet.encode():
            struct.pack_into("<I", body, at + 24, 5000)
        at = body.find(b"PK\x01\x02", at + 4)
    assert zipfile.ZipFile(io.BytesIO(bytes(body))).getinfo(sheet).file_size == 5000
    with pytest.raises(FeedError, match="not a readable XLSX workbook") as err:
        connector("customs").parse([Payload("http://sandbox/x.xlsx", bytes(body), 200)], PERIOD)
    assert "larger than its declared uncompressed size" in str(err.value.__cause__)


# --- an overall deadline for the body ----------------------------------------------------------------


def test_trickled_body_fails_at_the_deadline(hostile, raw_db, sandbox_credentials):
    """A byte every 0.5 s: each read is quick (no read time-out ever trips), the body would take
    ≈20 minutes; the 1.5 s deadline ends it, once (a retry would take another deadline)."""
    server = hostile(("trickle",), trickle_interval=0.5)
    message = refused("police", server, raw_db, sandbox_credentials, within=6)
    assert "body not received within the request deadline of 1.5 s (IPKPI_REQUEST_DEADLINE_S)" in message
    assert server.requests[PATHS["police"]] == 1


def test_deadline_is_wall_clock_not_per_read(hostile, sandbox_credentials, monkeypatch):
    """A read time-out far longer than the trickle's pauses changes nothing: the deadline is overall."""
    server = hostile({"trickle": "court"}, trickle_interval=0.2)
    client = FeedClient(
        Endpoint("ipkpi_court", server.url, sandbox_credentials["court"]),
        **{**HTTP, "timeout": (2.0, 60.0)},
        limits=Limits(request_deadline_s=1.0),
    )
    started = time.monotonic()
    try:
        with pytest.raises(FeedError, match=r"court 2020-03: .*request deadline of 1 s"):
            connector("court").fetch(client, PERIOD, etag=None)
    finally:
        client.close()
    assert time.monotonic() - started < 2.5


# --- pages: what total promises, cursors followed, cursors repeated ----------------------------------


def test_court_total_beyond_the_page_cap(hostile, raw_db, sandbox_credentials):
    server = hostile(("huge_total",))
    message = refused("court", server, raw_db, sandbox_credentials, within=5)
    assert "total 1,000,000,000 takes 2,000,000 pages of 500, over the page cap of 25 (IPKPI_MAX_PAGES)" in message
    assert server.requests[PATHS["court"]] == 1  # refused on the first page, before asking for a second


def test_amr_endless_cursors_stop_at_the_page_cap(hostile, raw_db, sandbox_credentials):
    server = hostile(("endless_pages",))
    message = refused("amr_cases", server, raw_db, sandbox_credentials, within=10)
    assert "still paging after 25 pages: over the page cap (IPKPI_MAX_PAGES)" in message
    assert server.requests[PATHS["amr_cases"]] == 25


def test_amr_repeated_cursor_fails_at_once(hostile, raw_db, sandbox_credentials):
    server = hostile(("repeated_cursor",))
    message = refused("amr_cases", server, raw_db, sandbox_credentials, within=5)
    assert "next_cursor of page 2 repeats the one page 1 gave: the cursors loop" in message
    assert server.requests[PATHS["amr_cases"]] == 2


# --- the limits themselves ---------------------------------------------------------------------------


def test_limits_read_from_the_environment(monkeypatch):
    for variable in SMALL:
        monkeypatch.delenv(variable)
    defaults = Limits.from_env()
    assert defaults == Limits()
    # far above the largest the sandbox serves at ×1000 (measured: finance month 35 MB; customs 4.6 MB
    # unzipping to 44 MB at 9.7:1; AMR ≈5,200 pages a month, court ≈1,100), and within the archive's
    # 1 GB bytea
    assert 10 * 35 * MB < defaults.max_payload_bytes < 1024 * MB
    assert defaults.max_unzipped_bytes > 10 * 44 * MB and defaults.max_zip_ratio > 10 * 9.7
    assert defaults.max_pages > 2 * 5_200 and defaults.request_deadline_s >= 60
    monkeypatch.setenv("IPKPI_MAX_PAYLOAD_MB", "0.5")
    monkeypatch.setenv("IPKPI_MAX_PAGES", "7")
    monkeypatch.setenv("IPKPI_REQUEST_DEADLINE_S", "2.5")
    assert Limits.from_env() == Limits(max_payload_bytes=MB // 2, max_pages=7, request_deadline_s=2.5)
    for bad in ("0", "-1", "lots", "nan", "inf"):
        monkeypatch.setenv("IPKPI_MAX_PAGES", bad)
        with pytest.raises(ValueError, match="IPKPI_MAX_PAGES"):
            Limits.from_env()


def test_defaults_let_the_default_feeds_through(sandbox, sandbox_credentials, monkeypatch):
    """The same sandbox without hostile modes: every feed's month passes the default limits."""
    for variable in SMALL:
        monkeypatch.delenv(variable)
    for source, conn_id in SOURCES.items():
        agency = conn_id.removeprefix("ipkpi_")
        client = FeedClient(Endpoint(conn_id, sandbox.url, sandbox_credentials[agency]), **HTTP)
        try:
            fetched = connector(source).fetch(client, PERIOD, etag=None)
        finally:
            client.close()
        assert fetched.payloads, source
