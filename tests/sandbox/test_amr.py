"""AMR: enforcement cases (cursor paging) and the statistics return."""

import requests
from sbx_helpers import CREDS

H = {"X-Api-Key": CREDS["amr"]}


def cases(server, month, cursor=None, headers=H):
    params = {"month": month}
    if cursor is not None:
        params["cursor"] = cursor
    return requests.get(f"{server.url}/api/v2/enforcement/cases", params=params, headers=headers)


def stats(server, period, headers=H):
    return requests.get(f"{server.url}/api/v2/statistics", params={"period": period}, headers=headers)


def all_items(server, month):
    items, cursor, pages = [], None, 0
    while True:
        body = cases(server, month, cursor).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert len(body["items"]) == 100


def test_auth(server):
    assert cases(server, "2020-03", headers={}).status_code == 401
    assert cases(server, "2020-03", headers={"X-Api-Key": "x"}).status_code == 403
    assert stats(server, "2020-03", headers={}).status_code == 401
    assert stats(server, "2020-03", headers={"X-Api-Key": "x"}).status_code == 403


def test_cursor_paging(server, dataset):
    items, pages = all_items(server, "2020-06")
    assert pages >= 3
    truth = dataset.amr_cases("2020-06")
    assert [x["case_id"] for x in items] == [x["case_id"] for x in truth]
    assert len({x["case_id"] for x in items}) == len(items)
    for x in items:
        assert x["status"] in ("办理中", "已结案", "已撤销")
        assert x["region_code"]
    cursor = cases(server, "2020-06").json()["next_cursor"]
    assert cases(server, "2020-07", cursor).status_code == 400  # bound to its month
    assert cases(server, "2020-06", "garbage!").status_code == 400
    assert cases(server, "2020-06", cursor[:-2] + "AA").status_code == 400
    assert cases(server, "2020-06", cursor).status_code == 200  # does not expire
    assert cases(server, "2020-6").status_code == 400


def test_unpublished_month_is_empty(make_server):
    early = make_server(as_of="2020-06-15T00:00:00+08:00")
    body = cases(early, "2020-06").json()
    assert body == {"items": [], "next_cursor": None}
    assert cases(early, "2020-05").json()["items"]


def test_current_state_and_revocations(dataset):
    dec = {x["case_id"]: x for x in dataset.amr_cases("2019-12")}
    jan = {x["case_id"]: x for x in dataset.amr_cases("2020-01")}
    both = set(dec) & set(jan)
    assert both, "cases opened in December and closed in January appear in both months"
    assert all(dec[k] == jan[k] for k in both), "a re-read month serves the current state"
    revoked = [x for m in range(1, 13) for x in dataset.amr_cases(f"2021-{m:02d}") if x["status"] == "已撤销"]
    assert revoked and any(x["closed_on"] for x in revoked)
    early = dataset.amr_cases("2019-12", as_of="2020-01-01T00:00:00+08:00")
    later = {x["case_id"]: x for x in dataset.amr_cases("2019-12")}
    changed = [x for x in early if later[x["case_id"]]["updated_at"] != x["updated_at"]]
    assert changed, "re-reading an old month later returns the record as it is now"


def test_statistics_document(server):
    doc = stats(server, "2020-12").json()
    assert doc["period"] == "2020-12" and doc["revision"] >= 1
    rows = doc["rows"]
    city = {r["indicator"]: r for r in rows if r["region"] == "330200"}
    assert city["patent_intensive_industry_va_share"]["basis"] == "annual"
    assert city["resident_population"]["unit"] == "万人"
    assert city["patent_grants_invention"]["basis"] == "ytd"
    assert city["trademarks_in_force"]["basis"] == "stock"
    for r in rows:
        if r["region"] not in ("330200", "330204") and r["indicator"] != "patent_intensive_industry_va_share":
            assert r["value"] <= city[r["indicator"]]["value"]
    june = stats(server, "2020-06").json()
    assert not any(r["basis"] == "annual" for r in june["rows"])
    assert stats(server, "2026-01").status_code == 404
    assert stats(server, "2020-13").status_code == 400
    assert stats(server, "").status_code == 400


def test_district_starts_later(dataset):
    def has(period):
        return any(
            r["indicator"] == "pct_applications" and r["region"] == "330213"
            for r in dataset.amr_statistics(period)["rows"]
        )

    assert not has("2021-03") and has("2021-04")


def test_revision_two(dataset, make_server):
    from sandbox.timeutil import ym_str

    revised = [i for i, docs in dataset.stats.documents().items() if len(docs) > 1]
    assert revised
    i = revised[0]
    r1, r2 = dataset.stats.documents()[i]
    before = make_server(as_of=r1.published_at.isoformat())
    after = make_server(as_of=r2.published_at.isoformat())
    d1 = stats(before, ym_str(i)).json()
    d2 = stats(after, ym_str(i)).json()
    assert (d1["revision"], d2["revision"]) == (1, 2)
    assert d1["rows"] != d2["rows"]
    assert (
        stats(
            make_server(as_of=(r1.published_at.replace(year=r1.published_at.year - 1)).isoformat()), ym_str(i)
        ).status_code
        == 404
    )


def test_default_ytd_never_decreases(dataset):
    docs = dataset.stats.documents()
    for i, revs in docs.items():
        if i % 12 == 0:
            continue
        prev_all = docs.get(i - 1, [])
        for doc in revs:
            vals = {(r["indicator"], r["region"]): r["value"] for r in doc.rows if r["basis"] == "ytd"}
            for prev in prev_all:
                for r in prev.rows:
                    key = (r["indicator"], r["region"])
                    if r["basis"] == "ytd" and key in vals:
                        assert vals[key] >= r["value"], (i, key)


def test_opt_in_ytd_decrease(make_server):
    srv = make_server(traps={"ytd_decrease": "2021-05"})
    may = {(r["indicator"], r["region"]): r["value"] for r in stats(srv, "2021-05").json()["rows"]}
    apr = {(r["indicator"], r["region"]): r["value"] for r in stats(srv, "2021-04").json()["rows"]}
    key = ("patent_grants_invention", "330200")
    assert may[key] < apr[key]
    fixed = make_server(traps={"ytd_decrease": {"period": "2021-05", "fixed_at": "2022-03-01T10:00:00+08:00"}})
    doc = stats(fixed, "2021-05").json()
    assert {(r["indicator"], r["region"]): r["value"] for r in doc["rows"]}[key] >= apr[key]


def test_opt_in_district_exceeds_city(make_server):
    srv = make_server(traps={"district_exceeds_city": "2020-06"})
    rows = stats(srv, "2020-06").json()["rows"]
    city = next(r["value"] for r in rows if r["indicator"] == "trademarks_in_force" and r["region"] == "330200")
    assert any(r["value"] > city for r in rows if r["indicator"] == "trademarks_in_force" and r["region"] != "330200")
