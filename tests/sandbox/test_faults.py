"""Fault injection: each kind observable, deterministic, retryable, never changing the data."""

import pytest
import requests
from sbx_helpers import CREDS

CUSTOMS = {"X-Access-Key": CREDS["customs"]}
COURT = {"Authorization": f"Bearer {CREDS['court']}"}
MARCH = {"updated_since": "2020-03-01T00:00:00+08:00", "updated_before": "2020-04-01T00:00:00+08:00"}


def customs(server):
    return requests.get(f"{server.url}/reports/ipr-seizures/2020/03.xlsx", headers=CUSTOMS, timeout=5)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_status_faults(make_server, kind):
    srv = make_server(fault_rate=1.0, fault_kinds=(kind,), retry_after=0 if kind == "429" else 1)
    r = customs(srv)
    assert r.status_code == int(kind)
    if kind == "429":
        assert r.headers["Retry-After"] == "0"


def test_retry_after_default(make_server):
    srv = make_server(fault_rate=1.0, fault_kinds=("429",))
    assert customs(srv).headers["Retry-After"] == "1"


def test_reset(make_server):
    srv = make_server(fault_rate=1.0, fault_kinds=("reset",))
    with pytest.raises(requests.ConnectionError):
        customs(srv)


def test_timeout(make_server):
    srv = make_server(fault_rate=1.0, fault_kinds=("timeout",), timeout_delay=0.6)
    with pytest.raises(requests.Timeout):
        requests.get(f"{srv.url}/reports/ipr-seizures/2020/03.xlsx", headers=CUSTOMS, timeout=0.2)


def test_short_page(make_server, server):
    srv = make_server(fault_rate=1.0, fault_kinds=("short_page",))
    good = requests.get(f"{server.url}/v1/ip-cases", params={**MARCH, "page": 1}, headers=COURT).json()
    short = requests.get(f"{srv.url}/v1/ip-cases", params={**MARCH, "page": 1}, headers=COURT).json()
    assert short["total"] == good["total"] > 100
    assert len(short["data"]) < 100 == len(good["data"])
    assert short["data"] == good["data"][: len(short["data"])]
    # short_page only applies to the API with a total: files are served whole
    assert customs(srv).status_code == 200


def test_deterministic_and_retryable(make_server, server):
    a = make_server(fault_rate=0.5, fault_seed=7, fault_kinds=("500", "503"))
    b = make_server(fault_rate=0.5, fault_seed=7, fault_kinds=("500", "503"))
    seq_a = [customs(a).status_code for _ in range(12)]
    seq_b = [customs(b).status_code for _ in range(12)]
    assert seq_a == seq_b
    assert 200 in seq_a and any(s in (500, 503) for s in seq_a)
    reference = customs(server).content
    for _ in range(20):
        r = customs(a)
        if r.status_code == 200:
            assert r.content == reference  # faults never change the data
            break
    else:
        pytest.fail("a retried request never succeeded")


def test_faults_off_by_default(server):
    for _ in range(20):
        assert customs(server).status_code == 200
