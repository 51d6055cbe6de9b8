"""Edge cases of the CSV readers: which values pass, which reason a bad row gets, positions kept."""

from __future__ import annotations

import hashlib

import pytest

from ingest.base import FeedError
from ingest.http import Endpoint
from ingest.runner import ingest_months
from tests.ingest.conftest import query

POLICE_EDGES = "\r\n".join(
    [
        "案件编号,立案日期,破案日期,案由,涉案金额（元）,打处人数,专项行动,线索来源,区县代码",
        'A1,2020/2/29,,假冒专利罪,"1,234,500.50",2,蓝剑,自行侦查,330203',  # good: leap day, separators
        "A2,2020/2/30,,假冒专利罪,100,1,,自行侦查,330203",  # no such day
        "A3,2020-13-01,,假冒专利罪,100,1,,自行侦查,330203",  # no such month
        'A4,2020-01-05,,假冒专利罪,"1,23",1,,自行侦查,330203',  # malformed separators
        "A5,2020-01-05,,假冒专利罪,-5,1,,自行侦查,330203",  # negative
        "A6,2020-01-05,,假冒专利罪,5,1.5,,自行侦查,330203",  # fractional suspects
        "A7,2020-01-05,,假冒专利罪,5,1,,自行侦查,330299",  # unknown region
        "A8,2020-01-05,,盗窃罪,5,1,,自行侦查,330203",  # offence outside the list
        ",2020-01-05,,假冒专利罪,5,1,,自行侦查,330203",  # no id
        ",,,,,,,,",  # an empty row: skipped
        " A9 ,2020-01-05,2020-02-01,假冒专利罪, 7 ,0,昆仑,上级交办, 330282 ",  # padded cells: fine
        "A10,２０２０-01-05,,假冒专利罪,5,1,,自行侦查,330203",  # full-width digits
        "",
        "",  # blank lines at the end
    ]
)


def test_an_unreadable_month_stops_the_run_at_that_month(raw_db, static_server):
    """Months are read ahead but loaded in order: the month before the bad one is loaded, the bad one
    is named and its payload kept, nothing of it or after it is loaded."""
    bad = POLICE_EDGES.encode("gbk") + b"\xff\xff"  # not GBK
    endpoint = Endpoint("ipkpi_police", static_server(POLICE_EDGES.encode("gbk"), by_path={"202002": bad}), "k")
    with pytest.raises(FeedError) as err:
        ingest_months("police", ["2020-01", "2020-02", "2020-03"], raw_db, endpoint)
    assert "police 2020-02" in str(err.value) and "ipr_crime_202002.csv" in str(err.value)
    assert query(raw_db, "SELECT period FROM raw.loads") == [("2020-01",)]
    assert query(raw_db, "SELECT DISTINCT period FROM raw.police_cases JOIN raw.loads USING (load_id)") == [
        ("2020-01",)
    ]
    assert query(raw_db, "SELECT bytes FROM raw.payloads WHERE sha256 = %s", (hashlib.sha256(bad).hexdigest(),)) == [
        (len(bad),)
    ]


def test_police_edge_cases(raw_db, static_server):
    endpoint = Endpoint("ipkpi_police", static_server(POLICE_EDGES.encode("gbk")), "k")
    ingest_months("police", ["2020-01"], raw_db, endpoint)
    quarantined = query(raw_db, "SELECT source_row, reason FROM quarantine.rows ORDER BY 1")
    assert [row for row, _ in quarantined] == [3, 4, 5, 6, 7, 8, 9, 10, 13]  # file lines, header = 1
    reasons = [r for _, r in quarantined]
    assert reasons == [
        "unparsable_date:立案日期",
        "unparsable_date:立案日期",
        "unparsable_number:涉案金额（元）",
        "negative_number:涉案金额（元）",
        "unparsable_number:打处人数",
        "unknown_region",
        "invalid_enum:案由",
        "missing:案件编号",
        "unparsable_date:立案日期",
    ]
    loaded = query(raw_db, "SELECT case_id, amount_yuan::text, region_code FROM raw.police_cases ORDER BY 1")
    assert loaded == [("A1", "1234500.50", "330203"), ("A9", "7.00", "330282")]
