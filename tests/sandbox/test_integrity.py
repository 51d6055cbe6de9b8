"""Identities are unique, windows are consistent, districts and regions are valid."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.regions import UNKNOWN_CODES, VALID
from sandbox.timeutil import TZ


@pytest.fixture(scope="module")
def everything(dataset):
    return dataset.court_all_versions()


def test_unique_identities(dataset, everything):
    versions = everything
    cases = {}
    for v in versions:
        key = v["case_no"]
        if key in cases:
            assert cases[key]["filed_date"] == v["filed_date"] and cases[key]["case_type"] == v["case_type"]
        cases[key] = v
    keys = [(v["case_no"], v["updated_at"]) for v in versions]
    assert len(keys) == len(set(keys))
    seizures, police, pledges = set(), {}, {}
    for y in range(2018, 2026):
        for m in range(1, 13):
            p = f"{y}-{m:02d}"
            ids = [r["查扣编号"] for r in dataset.customs_rows(p)]
            assert len(ids) == len(set(ids)) and not (set(ids) & seizures)
            seizures |= set(ids)
            rows = dataset.police_rows(p)
            assert len({r["案件编号"] for r in rows}) == len(rows)
            for r in rows:
                filed = tuple(int(x) for x in r["立案日期"].replace("/", "-").split("-"))
                assert police.setdefault(r["案件编号"], filed) == filed
            rows = dataset.finance_rows(p)
            assert len({r["登记编号"] for r in rows}) == len(rows)
            for r in rows:
                assert pledges.setdefault(r["登记编号"], r["登记日期"]) == r["登记日期"]
            amr = dataset.amr_cases(p)
            assert len({x["case_id"] for x in amr}) == len(amr)


def test_arbitrary_windows_match_brute_force(dataset, everything):
    r = random.Random(5)
    for _ in range(8):
        start = datetime(2018, 1, 1, tzinfo=TZ) + timedelta(seconds=r.randrange(8 * 365 * 86400))
        end = start + timedelta(seconds=r.randrange(1, 50 * 86400))
        got = dataset.court_versions(start.astimezone(timezone.utc).isoformat(), end.isoformat())
        want = [v for v in everything if start <= datetime.fromisoformat(v["updated_at"]) < end]
        assert [(v["case_no"], v["updated_at"]) for v in got] == [(v["case_no"], v["updated_at"]) for v in want]


def test_region_codes(dataset, everything):
    codes = {v["court_code"] for v in everything}
    assert codes <= set(VALID) | set(UNKNOWN_CODES)
    assert set(VALID) <= codes
    for period in ("2019-07", "2023-11"):
        assert {x["region_code"] for x in dataset.amr_cases(period)} <= set(VALID) | set(UNKNOWN_CODES)
        assert {x["区县代码"] for x in dataset.police_rows(period)} <= set(VALID) | set(UNKNOWN_CODES)
        assert {x["区县代码"] for x in dataset.finance_rows(period)} <= set(VALID) | set(UNKNOWN_CODES)


def test_events_never_after_the_range(dataset, everything):
    last = max(v["updated_at"] for v in everything)
    assert datetime.fromisoformat(last) < datetime(2026, 1, 1, tzinfo=TZ)
    for x in dataset.amr_cases("2025-12"):
        assert datetime.fromisoformat(x["updated_at"]) < datetime(2026, 1, 1, tzinfo=TZ)
