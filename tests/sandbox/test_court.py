"""Courts: Bearer auth, windows in +08:00, paging, versions."""

from datetime import datetime, timezone

import requests
from sbx_helpers import CREDS

H = {"Authorization": f"Bearer {CREDS['court']}"}
MARCH = {"updated_since": "2020-03-01T00:00:00+08:00", "updated_before": "2020-04-01T00:00:00+08:00"}


def get(server, params, headers=H):
    return requests.get(f"{server.url}/v1/ip-cases", params=params, headers=headers)


def test_auth(server):
    assert get(server, MARCH, headers={}).status_code == 401
    assert get(server, MARCH, headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    assert get(server, MARCH, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert get(server, MARCH).status_code == 200


def test_paging_total_and_order(server, dataset):
    first = get(server, MARCH).json()
    assert first["page"] == 1 and first["page_size"] == 100 and len(first["data"]) == 100
    total = first["total"]
    assert total > 300
    pages, page = [], 1
    while True:
        body = get(server, {**MARCH, "page": page, "page_size": 150}).json()
        assert body["total"] == total
        pages.append(body["data"])
        if page * 150 >= total:
            break
        assert len(body["data"]) == 150
        page += 1
    assert 0 < len(pages[-1]) < 150
    records = [x for p in pages for x in p]
    assert len(records) == total
    keys = [(datetime.fromisoformat(x["updated_at"]), x["case_no"]) for x in records]
    assert keys == sorted(keys)
    truth = dataset.court_versions(MARCH["updated_since"], MARCH["updated_before"])
    assert [x["case_no"] for x in records] == [x["case_no"] for x in truth]
    beyond = get(server, {**MARCH, "page": page + 1, "page_size": 150}).json()
    assert beyond["data"] == [] and beyond["total"] == total


def test_page_size_limits_and_bad_params(server):
    assert get(server, {**MARCH, "page_size": 500}).status_code == 200
    assert get(server, {**MARCH, "page_size": 501}).status_code == 400
    assert get(server, {**MARCH, "page": 0}).status_code == 400
    assert get(server, {**MARCH, "page": "x"}).status_code == 400
    assert get(server, {"updated_since": MARCH["updated_since"]}).status_code == 400
    # a literal '+' decodes as a space: unparsable, 400 (never a crash)
    raw = f"{server.url}/v1/ip-cases?updated_since=2020-03-01T00:00:00+08:00&updated_before=2020-04-01T00:00:00+08:00"
    assert requests.get(raw, headers=H).status_code == 400
    assert get(server, {**MARCH, "updated_since": "yesterday"}).status_code == 400
    ok = (
        f"{server.url}/v1/ip-cases?updated_since=2020-03-01T00:00:00%2B08:00&updated_before=2020-04-01T00:00:00%2B08:00"
    )
    assert requests.get(ok, headers=H).json()["total"] == get(server, MARCH).json()["total"]
    utc = get(server, {"updated_since": "2020-02-29T16:00:00Z", "updated_before": "2020-03-31T16:00:00Z"}).json()
    assert utc["total"] == get(server, MARCH).json()["total"]


def test_records_and_versions(dataset):
    versions = dataset.court_versions("2019-01-01T00:00:00+08:00", "2021-01-01T00:00:00+08:00")
    by_case = {}
    for v in versions:
        by_case.setdefault(v["case_no"], []).append(v)
        assert v["case_type"] in ("民事", "刑事", "行政")
        assert v["trial_level"] in ("一审", "二审", "再审")
        assert v["updated_at"].endswith("+08:00")
        if v["closing_method"] == "移送":
            assert v["appealed"] is None
        if v["trial_level"] != "一审":
            assert v["appealed"] is None
    multi = [vs for vs in by_case.values() if len(vs) >= 2]
    assert len(multi) > 1000
    assert any(vs[0]["closed_date"] is None and vs[-1]["closed_date"] for vs in multi)
    assert any(vs[-1]["appealed"] is True and vs[-2]["appealed"] is False for vs in multi)
    # recorded early on the 1st (+08:00): the previous month in UTC
    early = [v for v in versions if v["updated_at"][8:13] == "01T00" or v["updated_at"][8:13] == "01T01"]
    assert early
    v = early[0]
    assert datetime.fromisoformat(v["updated_at"]).astimezone(timezone.utc).day != 1
    # recorded days after the event
    late = [v for v in versions if v["closed_date"] and v["updated_at"][:10] > v["closed_date"]]
    assert late
    assert any(v["court_code"] == "330200" for v in versions)
    assert any(v["court_code"] in ("330204", "330283", "330299") for v in versions)
    assert any(v["claim_amount"] is None and v["case_type"] == "民事" for v in versions)
    assert any(v["case_no"].startswith("(2020)浙02知民初") for v in versions)


def test_future_window_is_empty(make_server):
    early = make_server(as_of="2020-04-10T00:00:00+08:00")
    body = get(
        early, {"updated_since": "2020-05-01T00:00:00+08:00", "updated_before": "2020-06-01T00:00:00+08:00"}
    ).json()
    assert body["total"] == 0 and body["data"] == []
    part = get(
        early, {"updated_since": "2020-04-01T00:00:00+08:00", "updated_before": "2020-05-01T00:00:00+08:00"}
    ).json()
    assert all(x["updated_at"] < "2020-04-10T00:00:00+08:00" for x in part["data"])


def test_pages_are_the_same_bytes_cached_or_not(server, make_server):
    """A window is rendered once and its pages sliced from it: the same request gives the same
    bytes, again (cached) and from a server with a cold dataset, and they say what the truth API says."""
    import json
    from decimal import Decimal

    from sandbox import Dataset

    params = {**MARCH, "page": 2, "page_size": 150}
    first = get(server, params).content
    assert get(server, params).content == first
    cold = make_server(dataset=Dataset())
    assert get(cold, params).content == first
    body = json.loads(first, parse_float=Decimal)
    truth = Dataset().court_versions(MARCH["updated_since"], MARCH["updated_before"])[150:300]
    assert body["data"] == truth and len(truth) == 150
