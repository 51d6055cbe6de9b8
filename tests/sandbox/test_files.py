"""Police (GBK, CRLF, Basic auth) and finance (UTF-8 BOM, LF, access_token) files."""

import csv
import io
import re
from datetime import timedelta

import requests
from sbx_helpers import CREDS

from sandbox.dataset import uscc
from sandbox.dataset.finance import HEADERS as FIN_HEADERS
from sandbox.dataset.police import HEADERS as POL_HEADERS


def fin(server, period, token=None):
    params = {} if token is None else {"access_token": token}
    return requests.get(f"{server.url}/open/ip-pledge/{period}.csv", params=params)


def pol(server, yyyymm, auth="default"):
    if auth == "default":
        auth = ("ipkpi", CREDS["police"])
    return requests.get(f"{server.url}/exports/ipr_crime_{yyyymm}.csv", auth=auth)


# ---------------------------------------------------------------- finance
def test_finance_auth_and_404(server, make_server, dataset):
    assert fin(server, "2020-05").status_code == 401
    assert fin(server, "2020-05", "").status_code == 401
    assert fin(server, "2020-05", "wrong").status_code == 403
    assert fin(server, "2020-05", CREDS["finance"]).status_code == 200
    assert fin(server, "2026-01", CREDS["finance"]).status_code == 404
    may = dataset.finance_published_at("2020-05")
    early = make_server(as_of=(may - timedelta(seconds=1)).isoformat())
    expected_april = 200 if dataset.finance_published_at("2020-04") < may else 404
    assert fin(early, "2020-04", CREDS["finance"]).status_code == expected_april
    assert fin(early, "2020-05", CREDS["finance"]).status_code == 404
    assert fin(make_server(as_of=may.isoformat()), "2020-05", CREDS["finance"]).status_code == 200


def test_finance_encoding_and_content(server, dataset):
    r = fin(server, "2020-06", CREDS["finance"])
    body = r.content
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in body and body.endswith(b"\n")
    text = body[3:].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == FIN_HEADERS
    data = [dict(zip(rows[0], x)) for x in rows[1:]]
    assert data == dataset.finance_rows("2020-06")
    own = [x for x in data if x["登记日期"].startswith("2020-06")]
    older = [x for x in data if not x["登记日期"].startswith("2020-06")]
    assert own and older, "the file holds the month's registrations and status changes to older ones"
    assert all(x["登记状态"] in ("已注销", "已撤销") for x in older)
    for x in data:
        assert x["质押类型"] in ("专利权质押", "商标权质押", "著作权质押", "混合质押")
        assert re.fullmatch(r"\d+\.\d{2}", x["融资金额（万元）"])
        assert x["是否首贷"] in ("是", "否")
        assert len(x["出质人统一社会信用代码"]) == 18


def test_finance_traps_present(dataset):
    bad_uscc = voided = 0
    for m in range(1, 13):
        for x in dataset.finance_rows(f"2021-{m:02d}"):
            bad_uscc += not uscc.is_valid(x["出质人统一社会信用代码"])
            voided += x["登记状态"] == "已撤销"
    assert bad_uscc >= 3 and voided >= 3


# ---------------------------------------------------------------- police
def test_police_auth_and_404(server, make_server, dataset):
    assert pol(server, "202005", auth=None).status_code == 401
    assert pol(server, "202005", auth=("ipkpi", "wrong")).status_code == 403
    assert pol(server, "202005", auth=("other", CREDS["police"])).status_code == 403
    assert pol(server, "202005").status_code == 200
    assert pol(server, "202601").status_code == 404
    may = dataset.police_published_at("2020-05")
    early = make_server(as_of=(may - timedelta(seconds=1)).isoformat())
    assert pol(early, "202004").status_code == (200 if dataset.police_published_at("2020-04") < may else 404)
    assert pol(early, "202005").status_code == 404
    assert pol(make_server(as_of=may.isoformat()), "202005").status_code == 200
    custom = make_server(police_user="etl")
    assert pol(custom, "202005", auth=("etl", CREDS["police"])).status_code == 200
    assert pol(custom, "202005").status_code == 403


def test_police_encoding_and_content(server, dataset):
    r = pol(server, "202006")
    body = r.content
    assert b"\r\n" in body and body.count(b"\n") == body.count(b"\r\n")
    text = body.decode("gbk")
    rows = [x for x in csv.reader(io.StringIO(text, newline=""))]
    assert rows[0] == POL_HEADERS
    data = [dict(zip(POL_HEADERS, x)) for x in rows[1:] if x]
    assert data == dataset.police_rows("2020-06")
    assert any(not x["立案日期"].startswith("2020-06") and not x["立案日期"].startswith("2020/6/") for x in data)


def test_police_formats_across_months(dataset, server):
    seps = slashes = decimals = blank_tail = 0
    for m in range(1, 13):
        for x in dataset.police_rows(f"2020-{m:02d}"):
            seps += "," in x["涉案金额（元）"]
            decimals += "." in x["涉案金额（元）"]
            slashes += "/" in x["立案日期"]
        body = pol(server, f"2020{m:02d}").content
        blank_tail += body.endswith(b"\r\n\r\n")
    assert seps and decimals and slashes and blank_tail
    raw = pol(server, "202003").content.decode("gbk")
    assert re.search(r'"\d{1,3}(,\d{3})+(\.\d\d)?"', raw)
