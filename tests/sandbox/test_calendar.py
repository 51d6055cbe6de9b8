"""The publication calendar: each agency's rhythm, late months, re-issue windows, and the
truth API `Dataset.publication_events` agreeing with what the HTTP server serves."""

from collections import Counter
from datetime import timedelta

import pytest
import requests
from sbx_helpers import CREDS

from sandbox import Dataset
from sandbox.config import (
    PUBLICATION_LAGS,
    PUBLICATION_LATE_EXTRA,
    PUBLICATION_LATE_RATE,
    REISSUE_MAX_MONTHS,
    REISSUE_MIN_DAYS,
)
from sandbox.dataset.common import publication_lag
from sandbox.timeutil import FIRST_YM, LAST_YM, REISSUE_DEADLINE, TZ, add_months, http_date, month_end, ym_parse, ym_str

MONTHS = range(FIRST_YM, LAST_YM + 1)
SOURCES = ("court", "customs", "police", "amr_cases", "amr_statistics", "finance")


def first_publications(ds, agency):
    """month index -> first publication instant, for the agency names of PUBLICATION_LAGS."""
    docs = ds.stats.documents()
    get = {
        "police": lambda i: ds.police.published_at(i),
        "finance": lambda i: ds.finance.published_at(i),
        "customs": lambda i: ds.customs.versions(i)[0].published_at,
        "amr-stats": lambda i: docs[i][0].published_at,
    }[agency]
    return {i: get(i) for i in MONTHS}


def later_versions(ds):
    """(source, month, first instant, later instant) of every customs re-issue and statistics revision."""
    out = []
    for i in MONTHS:
        vs = ds.customs.versions(i)
        out += [("customs", i, vs[0].published_at, v.published_at) for v in vs[1:]]
        docs = ds.stats.documents()[i]
        out += [("amr_statistics", i, docs[0].published_at, d.published_at) for d in docs[1:]]
    return out


def months_between(a, b):
    """Whole calendar months from a to b (b >= a)."""
    k = 0
    while add_months(a, k + 1) <= b:
        k += 1
    return k


# ---------------------------------------------------------------- first publication
def test_every_agency_has_its_rhythm(dataset):
    xlo, xhi = PUBLICATION_LATE_EXTRA
    medians = {}
    for agency, (lo, hi) in PUBLICATION_LAGS.items():
        lags = []
        for i, at in first_publications(dataset, agency).items():
            local = at.astimezone(TZ)
            assert local.weekday() < 5, (agency, ym_str(i), at)
            assert 9 * 60 <= local.hour * 60 + local.minute < 16 * 60, (agency, ym_str(i), at)
            lag = (local.date() - month_end(i)).days
            drawn, late = publication_lag(dataset.seed, agency, i)
            assert drawn <= lag <= drawn + 2  # moved to the next working day
            if late:
                assert lo + xlo <= lag <= hi + xhi + 2, (agency, ym_str(i), lag)
            else:
                assert lo <= lag <= hi + 2, (agency, ym_str(i), lag)
            lags.append(lag)
        lags.sort()
        medians[agency] = lags[len(lags) // 2]
    # the rhythms differ: police first, customs last
    assert medians["police"] < medians["finance"] < medians["amr-stats"] < medians["customs"]


def test_late_months_are_a_minority(dataset):
    flags = [publication_lag(dataset.seed, a, i)[1] for a in PUBLICATION_LAGS for i in MONTHS]
    share = sum(flags) / len(flags)
    assert 0.05 <= share <= 0.20, share
    assert abs(share - PUBLICATION_LATE_RATE) < 0.05
    per_agency = Counter(a for a in PUBLICATION_LAGS for i in MONTHS if publication_lag(dataset.seed, a, i)[1])
    assert set(per_agency) == set(PUBLICATION_LAGS)  # every agency is sometimes late


def test_a_run_on_the_first_of_the_next_month_finds_nothing(dataset):
    for agency in PUBLICATION_LAGS:
        for i, at in first_publications(dataset, agency).items():
            assert at.date() > month_end(i) + timedelta(days=4)


# ---------------------------------------------------------------- re-issues and revisions
@pytest.mark.parametrize("seed", [None, 1, 7])
def test_reissues_and_revisions_within_twelve_months(dataset, seed):
    ds = dataset if seed is None else Dataset(seed=seed)
    later = later_versions(ds)
    assert later
    for source, i, first, at in later:
        assert first + timedelta(days=REISSUE_MIN_DAYS) < at, (source, ym_str(i), first, at)
        assert at <= add_months(first, REISSUE_MAX_MONTHS), (source, ym_str(i), first, at)
        assert at < REISSUE_DEADLINE, (source, ym_str(i), at)


@pytest.mark.parametrize("seed", [None, 1, 7])
def test_a_revision_comes_at_the_end_of_the_window(dataset, seed):
    ds = dataset if seed is None else Dataset(seed=seed)
    late = [
        (i, first, at)
        for source, i, first, at in later_versions(ds)
        if source == "amr_statistics" and months_between(first, at) == 11 and at < REISSUE_DEADLINE
    ]
    assert late, "a statistics revision 2 between 11 and 12 months after revision 1"


def test_a_customs_reissue_comes_half_a_year_later(dataset):
    assert any(
        months_between(first, at) >= 6 for source, _, first, at in later_versions(dataset) if source == "customs"
    )


# ---------------------------------------------------------------- truth API
def test_publication_events_cover_everything(dataset):
    events = dataset.publication_events()
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(set(e) == {"at", "source", "period", "kind"} for e in events)
    assert all(e["at"].utcoffset() == timedelta(hours=8) for e in events)
    firsts = Counter(e["source"] for e in events if e["kind"] == "first")
    assert firsts == {s: len(MONTHS) for s in SOURCES}
    kinds = Counter((e["source"], e["kind"]) for e in events if e["kind"] != "first")
    later = later_versions(dataset)
    assert kinds == Counter(
        ("customs", "reissue") if s == "customs" else ("amr_statistics", "revision") for s, *_ in later
    )
    for e in events:
        i = ym_parse(e["period"])
        if e["source"] in ("court", "amr_cases"):
            assert e["at"].date() == month_end(i) + timedelta(days=1) and e["at"].hour == 0
        else:
            assert e["at"].date() > month_end(i)
        assert e["at"] < REISSUE_DEADLINE
    # each feed-month's first event precedes its re-issues / revisions
    first_at = {(e["source"], e["period"]): e["at"] for e in events if e["kind"] == "first"}
    assert all(e["at"] > first_at[(e["source"], e["period"])] for e in events if e["kind"] != "first")


def test_publication_events_until_and_determinism(dataset):
    events = dataset.publication_events()
    assert Dataset().publication_events() == events
    assert Dataset(seed=7).publication_events() != events
    cut = events[len(events) // 2]["at"]
    assert dataset.publication_events(until=cut) == [e for e in events if e["at"] <= cut]
    assert dataset.publication_events(until=cut.isoformat()) == dataset.publication_events(until=cut)
    assert dataset.publication_events(until="2017-12-31T00:00:00+08:00") == []


def test_publication_events_include_the_opt_in_fix():
    ds = Dataset(traps={"ytd_decrease": {"period": "2021-05", "fixed_at": "2022-03-01T10:00:00+08:00"}})
    fixes = [
        e
        for e in ds.publication_events()
        if e["source"] == "amr_statistics" and e["period"] == "2021-05" and e["kind"] == "revision"
    ]
    assert any(e["at"].isoformat() == "2022-03-01T10:00:00+08:00" for e in fixes)


# ---------------------------------------------------------------- agreement with HTTP
def _instant(events, source, kind="first", pick=None):
    cands = [e for e in events if e["source"] == source and e["kind"] == kind]
    return pick(cands) if pick else cands[len(cands) // 2]


def _pair(make_server, at):
    return make_server(as_of=(at - timedelta(seconds=1)).isoformat()), make_server(as_of=at.isoformat())


def test_file_month_appears_exactly_at_its_event(dataset, make_server):
    events = dataset.publication_events()
    # a late police month: the agency's rhythm does not decide everything
    late = [i for i in MONTHS if publication_lag(dataset.seed, "police", i)[1]]
    e = _instant(events, "police", pick=lambda c: next(x for x in c if ym_parse(x["period"]) == late[0]))
    before, at = _pair(make_server, e["at"])
    path = f"/exports/ipr_crime_{e['period'].replace('-', '')}.csv"
    auth = ("ipkpi", CREDS["police"])
    assert requests.get(before.url + path, auth=auth).status_code == 404
    r = requests.get(at.url + path, auth=auth)
    assert r.status_code == 200
    assert r.headers["Last-Modified"] == http_date(e["at"])


def test_statistics_first_and_revision_at_their_events(dataset, make_server):
    events = dataset.publication_events()
    rev = _instant(events, "amr_statistics", "revision")
    first = next(
        e for e in events if e["source"] == "amr_statistics" and e["period"] == rev["period"] and e["kind"] == "first"
    )
    h = {"X-Api-Key": CREDS["amr"]}

    def get(srv):
        return requests.get(f"{srv.url}/api/v2/statistics", params={"period": rev["period"]}, headers=h)

    before, at = _pair(make_server, first["at"])
    assert get(before).status_code == 404
    assert get(at).status_code == 200 and get(at).json()["revision"] == 1
    before, at = _pair(make_server, rev["at"])
    assert get(before).json()["revision"] == 1
    assert get(at).json()["revision"] == 2


def test_amr_cases_month_served_from_its_event(dataset, make_server):
    e = _instant(dataset.publication_events(), "amr_cases")
    before, at = _pair(make_server, e["at"])
    h = {"X-Api-Key": CREDS["amr"]}
    url = "/api/v2/enforcement/cases"
    assert requests.get(before.url + url, params={"month": e["period"]}, headers=h).json()["items"] == []
    assert requests.get(at.url + url, params={"month": e["period"]}, headers=h).json()["items"]


def test_customs_etag_changes_at_the_reissue(dataset, make_server):
    events = dataset.publication_events()
    e = _instant(events, "customs", "reissue", pick=lambda c: c[-1])
    y, m = e["period"].split("-")
    path = f"/reports/ipr-seizures/{y}/{m}.xlsx"
    h = {"X-Access-Key": CREDS["customs"]}
    before, at = _pair(make_server, e["at"])
    r1, r2 = requests.get(before.url + path, headers=h), requests.get(at.url + path, headers=h)
    assert r1.status_code == r2.status_code == 200
    assert r1.headers["ETag"] != r2.headers["ETag"]
    assert requests.get(at.url + path, headers={**h, "If-None-Match": r1.headers["ETag"]}).status_code == 200
    assert requests.get(at.url + path, headers={**h, "If-None-Match": r2.headers["ETag"]}).status_code == 304
