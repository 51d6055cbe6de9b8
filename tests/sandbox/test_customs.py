import io
from datetime import date, datetime, timedelta

import openpyxl
import requests
from sbx_helpers import CREDS

from sandbox.dataset.customs import HEADERS, UNIT_LINE
from sandbox.timeutil import ym

H = {"X-Access-Key": CREDS["customs"]}


def url(server, y, m):
    return f"{server.url}/reports/ipr-seizures/{y:04d}/{m:02d}.xlsx"


def test_auth(server):
    assert requests.get(url(server, 2020, 3)).status_code == 401
    assert requests.get(url(server, 2020, 3), headers={"X-Access-Key": "nope"}).status_code == 403
    assert requests.get(url(server, 2020, 3), headers=H).status_code == 200


def test_unpublished_and_out_of_range(server, make_server, dataset):
    assert requests.get(url(server, 2026, 1), headers=H).status_code == 404
    assert requests.get(url(server, 2017, 12), headers=H).status_code == 404
    march = dataset.customs_versions("2020-03")[0].published_at
    assert march > datetime(2020, 4, 1, tzinfo=march.tzinfo)  # some days after the month ends
    early = make_server(as_of=(march - timedelta(seconds=1)).isoformat())
    assert requests.get(url(early, 2020, 3), headers=H).status_code == 404
    january = dataset.customs_versions("2020-01")[0].published_at
    assert requests.get(url(early, 2020, 1), headers=H).status_code == (200 if january < march else 404)
    assert requests.get(url(make_server(as_of=march.isoformat()), 2020, 3), headers=H).status_code == 200


def test_layout_and_totals(server, dataset):
    r = requests.get(url(server, 2020, 3), headers=H)
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["查获明细"]
    ws = wb["查获明细"]
    assert ws.cell(1, 1).value == "宁波海关知识产权侵权嫌疑货物查扣明细（2020年3月）"
    assert "A1:K1" in [str(m) for m in ws.merged_cells.ranges]
    assert ws.cell(2, 1).value == UNIT_LINE
    assert [c.value for c in ws[3]] == HEADERS
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    total = rows[-1]
    data = rows[:-1]
    assert total[0] == "合计"
    assert all(isinstance(x[0], int) for x in data)
    assert [x[0] for x in data] == list(range(1, len(data) + 1))
    assert total[7] == sum(x[7] for x in data)
    assert round(total[8], 4) == round(sum(x[8] for x in data), 4)
    for x in data:
        assert x[2].date() >= date(2020, 3, 1) and x[2].date() <= date(2020, 3, 31)
        assert x[1].startswith("NBHG202003")
        assert x[3] in ("进口", "出口") and x[4] in ("货运", "邮递", "快件", "旅检")
        assert x[10] in ("扣留", "没收", "放行")
        assert round(x[8], 4) == x[8]
    assert len({x[1] for x in data}) == len(data)
    assert len(data) == len(dataset.customs_rows("2020-03"))


def test_etag_304_and_if_modified_since(server):
    r = requests.get(url(server, 2019, 7), headers=H)
    etag, lm = r.headers["ETag"], r.headers["Last-Modified"]
    r2 = requests.get(url(server, 2019, 7), headers={**H, "If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b"" and r2.headers["ETag"] == etag
    r3 = requests.get(url(server, 2019, 7), headers={**H, "If-Modified-Since": lm})
    assert r3.status_code == 304
    r4 = requests.get(url(server, 2019, 7), headers={**H, "If-None-Match": '"other"'})
    assert r4.status_code == 200 and r4.content == r.content
    r5 = requests.get(url(server, 2019, 7), headers={**H, "If-Modified-Since": "Mon, 01 Jan 2018 00:00:00 GMT"})
    assert r5.status_code == 200


def test_deterministic_bytes():
    from sandbox import Dataset

    a = Dataset().customs_workbook("2021-06")[0]
    b = Dataset().customs_workbook("2021-06")[0]
    assert a == b
    assert Dataset(seed=7).customs_workbook("2021-06")[0] != a


def test_reissue_changes_etag(dataset, make_server):
    months = [i for i in range(ym(2018, 1), ym(2026, 1)) if len(dataset.customs.versions(i)) > 1]
    assert months, "the default dataset re-issues some workbooks"
    i = months[0]
    first, final = dataset.customs.versions(i)
    y, m = i // 12, i % 12 + 1
    before = make_server(as_of=first.published_at.isoformat())
    after = make_server(as_of=final.published_at.isoformat())
    r1 = requests.get(url(before, y, m), headers=H)
    r2 = requests.get(url(after, y, m), headers=H)
    assert r1.status_code == r2.status_code == 200
    assert r1.headers["ETag"] != r2.headers["ETag"]
    assert requests.get(url(after, y, m), headers={**H, "If-None-Match": r1.headers["ETag"]}).status_code == 200
    assert r2.headers["Last-Modified"] != r1.headers["Last-Modified"]


def test_cells_read_by_calamine_under_the_typing_rules_are_openpyxls(server):
    """The workbook typing rules of the customs reader (ingest/sources/customs.py ``typed``), on a
    served workbook: calamine's cells, so read, are openpyxl's — every cell of the sheet."""
    from python_calamine import CalamineWorkbook

    from ingest.sources.customs import typed

    body = requests.get(url(server, 2020, 3), headers=H).content
    by_openpyxl = list(
        openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)["查获明细"].iter_rows(values_only=True)
    )
    by_calamine = (
        CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_name("查获明细").to_python(skip_empty_area=False)
    )
    assert [[typed(c) for c in row] for row in by_calamine] == [list(row) for row in by_openpyxl]
    assert isinstance(by_calamine[3][2], date) and isinstance(by_calamine[3][0], float)  # what the rules undo
