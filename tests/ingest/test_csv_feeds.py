"""Police (GBK, CRLF, two date formats, thousands separators, Basic auth) and finance (UTF-8 with
BOM, USCC check characters, the credential in the query string) — every quirk of SOURCES.md."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ingest import fields
from ingest.base import FeedError, RowError
from ingest.http import AuthError, Endpoint
from ingest.runner import ingest_months
from sandbox import Dataset
from tests.ingest.conftest import query

DATASET = Dataset()
YEAR = [f"2020-{m:02d}" for m in range(1, 13)]


def test_field_readers():
    assert fields.date("2020/3/5", "d") == dt.date(2020, 3, 5)
    assert fields.date("2020-03-05", "d") == dt.date(2020, 3, 5)
    assert fields.decimal("1,234,500.50", "a", thousands=True) == Decimal("1234500.50")
    for bad, reason in (("2020/13/5", "unparsable_date:d"), ("", "missing:d"), ("05.03.2020", "unparsable_date:d")):
        with pytest.raises(RowError, match=reason):
            fields.date(bad, "d")
    with pytest.raises(RowError, match="negative_number"):
        fields.decimal("-5", "a")
    with pytest.raises(RowError, match="unknown_region"):
        fields.region("330299")


def _with_check(body17: str) -> str:
    total = sum(fields.USCC_CHARSET.index(c) * w for c, w in zip(body17, fields.USCC_WEIGHTS))
    return body17 + fields.USCC_CHARSET[(31 - total % 31) % 31]


def test_uscc_check_character():
    good = _with_check("91330200MA2AB1C2D")
    assert fields.uscc(good, "u") == good
    wrong = good[:17] + next(c for c in "0123456789" if c != good[17])
    with pytest.raises(RowError, match="invalid_uscc"):
        fields.uscc(wrong, "u")
    with pytest.raises(RowError, match="invalid_uscc"):
        fields.uscc(good[:17], "u")


def test_police_year_loads_every_row_quirks_included(raw_db, endpoint_for):
    report = ingest_months("police", YEAR, raw_db, endpoint_for("ipkpi_police"))
    assert report.count("loaded") == 12
    expected = sum(len(DATASET.police_rows(p)) for p in YEAR)
    ((loaded,),) = query(raw_db, "SELECT count(*) FROM raw.police_cases")
    ((quarantined,),) = query(raw_db, "SELECT count(*) FROM quarantine.rows WHERE source = 'police'")
    assert loaded + quarantined == expected
    files = [DATASET.police_file(p)[0] for p in YEAR]
    assert all(b"\r\n" in f for f in files)  # the files really are CRLF …
    assert any(b"/" in f.split(b"\r\n")[1] for f in files)  # … with YYYY/M/D dates somewhere
    # an amount written with thousands separators arrives exact
    truth = {(p, r["案件编号"]): r for p in YEAR for r in DATASET.police_rows(p)}
    sample = query(
        raw_db,
        "SELECT l.period, c.case_id, c.amount_yuan, c.filed_date FROM raw.police_cases c "
        "JOIN raw.loads l USING (load_id)",
    )
    with_commas = [row for row in sample if "," in truth[row[:2]]["涉案金额（元）"]]
    assert with_commas
    for period, case_id, amount, filed in with_commas:
        assert amount == Decimal(truth[period, case_id]["涉案金额（元）"].replace(",", ""))
        assert filed == fields.date(truth[period, case_id]["立案日期"], "立案日期")


def test_police_login_from_the_connection(raw_db, endpoint_for):
    endpoint = endpoint_for("ipkpi_police")
    wrong_user = Endpoint(endpoint.conn_id, endpoint.host, endpoint.password, login="someone-else")
    with pytest.raises(AuthError, match="ipkpi_police"):
        ingest_months("police", ["2020-01"], raw_db, wrong_user)


def test_finance_bom_uscc_and_masked_token(raw_db, endpoint_for):
    endpoint = endpoint_for("ipkpi_finance")
    ingest_months("finance", YEAR, raw_db, endpoint)
    expected = sum(len(DATASET.finance_rows(p)) for p in YEAR)
    ((loaded,),) = query(raw_db, "SELECT count(*) FROM raw.finance_pledges")
    reasons = dict(query(raw_db, "SELECT reason, count(*) FROM quarantine.rows WHERE source = 'finance' GROUP BY 1"))
    assert loaded + sum(reasons.values()) == expected
    assert reasons.get("invalid_uscc:出质人统一社会信用代码", 0) > 0  # the dataset's traps are caught …
    assert DATASET.finance_file("2020-01")[0].startswith(b"\xef\xbb\xbf")  # … the file has its BOM …
    assert query(
        raw_db, "SELECT count(*) FROM raw.finance_pledges WHERE left(registration_no, 1) = %s", ("\ufeff",)
    ) == [(0,)]
    # … and the credential never reaches the archive
    urls = [u for (u,) in query(raw_db, "SELECT url FROM raw.fetches")]
    assert urls and all("access_token=***" in u and endpoint.password not in u for u in urls)
    # voided and released registrations stay in raw (the mart decides what counts)
    statuses = {s for (s,) in query(raw_db, "SELECT DISTINCT status FROM raw.finance_pledges")}
    assert {"有效", "已注销"} <= statuses


@pytest.mark.parametrize(
    "source, conn_id, body, problem",
    [
        ("police", "ipkpi_police", "案件编号,立案日期\r\n".encode("gbk") + b"\xff\xfe\xfa", "not valid gbk"),
        ("police", "ipkpi_police", "案件编号,立案日期\r\nA1,2020-01-01\r\n".encode("gbk"), "columns missing"),
        ("finance", "ipkpi_finance", b"\xef\xbb\xbf\xd5\xe2\xca\xc7", "not valid utf-8-sig"),
        ("finance", "ipkpi_finance", b"", "empty file"),
    ],
)
def test_malformed_files_fail_naming_source_period_url(raw_db, static_server, source, conn_id, body, problem):
    endpoint = Endpoint(conn_id, static_server(body), "secret-token")
    with pytest.raises(FeedError) as err:
        ingest_months(source, ["2020-05"], raw_db, endpoint)
    message = str(err.value)
    assert f"{source} 2020-05" in message and problem in message and "http://127.0.0.1" in message
    assert "secret-token" not in message
    assert query(raw_db, "SELECT count(*) FROM raw.payloads") == [(1,)]  # kept all the same
