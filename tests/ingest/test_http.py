"""The HTTP client without requests on its path sends what requests sent: the same URL (the one
archived in raw.fetches) for every feed's kind of query, and the same Basic credential."""

from __future__ import annotations

import pytest
import requests

from ingest.http import Endpoint, FeedClient

HOST = "http://127.0.0.1:9"  # never connected to


@pytest.mark.parametrize(
    "path, params",
    [
        ("/v1/ip-cases", {"updated_since": "2020-01-01T00:00:00+08:00", "page": 2, "page_size": 500}),
        ("/api/v2/enforcement/cases", {"month": "2020-01", "cursor": "2020-01:100:ab/+=="}),
        ("/exports/ipr_crime_202001.csv", None),
        ("/api/x", {"access_token": "s3&x=1", "q": "中文 a+b", "left_out": None, "many": ["a", "b"]}),
    ],
)
def test_urls_are_encoded_as_requests_encodes_them(path, params):
    client = FeedClient(Endpoint("ipkpi_x", HOST))
    try:
        assert client.url(path, params) == requests.Request("GET", HOST + path, params=params).prepare().url
    finally:
        client.close()


class Stop(Exception):
    pass


def test_basic_credentials_are_those_requests_sends(monkeypatch):
    sent = {}

    def urlopen(method, url, headers, **_):
        sent.update(headers)
        raise Stop  # only the headers are looked at

    client = FeedClient(Endpoint("ipkpi_police", HOST))
    monkeypatch.setattr(client.pool, "urlopen", urlopen)
    with pytest.raises(Stop):
        client.get("/exports/x.csv", source="police", period="2020-01", auth=("ipkpi", "pä55"))
    client.close()
    expected = requests.Request("GET", HOST, auth=("ipkpi", "pä55")).prepare().headers["Authorization"]
    assert sent["Authorization"] == expected
    assert sent["User-Agent"] == requests.utils.default_user_agent()
