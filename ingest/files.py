"""What the monthly *file* feeds share (customs XLSX, police and finance CSV): a conditional GET
where 404 means "not published yet", and reading a CSV export whose rows go to raw or quarantine.
"""

from __future__ import annotations

import csv
import io

from ingest.base import FeedError, Fetched, Parsed, Payload
from ingest.fields import WHITESPACE, Field
from ingest.http import FeedClient, public_url


def fetch_file(client: FeedClient, source: str, period: str, path: str, *, etag: str | None,
               headers: dict | None = None, params: dict | None = None, auth=None) -> Fetched:
    headers = dict(headers or {})
    if etag:
        headers["If-None-Match"] = etag  # cheap re-check of a month we hold: 304 if not re-issued
    response = client.get(path, params=params, headers=headers, auth=auth, what=f"{source} {period}")
    if response.status_code == 404:
        return Fetched(not_published=True)
    if response.status_code == 304:
        return Fetched(unchanged=True)
    url = public_url(response.url)
    if response.status_code != 200:
        raise FeedError(source, period, url, f"unexpected HTTP {response.status_code}")
    return Fetched([Payload(url, response.content, response.status_code, etag=response.headers.get("ETag"),
                            last_modified=response.headers.get("Last-Modified"),
                            content_type=response.headers.get("Content-Type"))])


def decode(payload: Payload, source: str, period: str, encoding: str) -> str:
    try:
        return payload.body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FeedError(source, period, payload.url, f"not valid {encoding} at byte {exc.start}") from None


def header_index(got: list[str], fields: tuple[Field, ...], source: str, period: str, url: str) -> list[int]:
    """Where each field's column is in the file's header; a missing column fails the payload."""
    got = [h.strip(WHITESPACE).lstrip("\ufeff") for h in got]
    missing = [f.source for f in fields if f.source not in got]
    if missing:
        raise FeedError(source, period, url, f"columns missing from the header: {missing}")
    return [got.index(f.source) for f in fields]


def read_header(content: str, fields: tuple[Field, ...], source: str, period: str, url: str) -> tuple[list[str], list[int]]:
    """The header row's cells and where each field is among them."""
    got = next(csv.reader(io.StringIO(content.split("\n", 1)[0])), None)
    if got is None:
        raise FeedError(source, period, url, "empty file: no header row")
    return got, header_index(got, fields, source, period, url)


def parse_csv(payload: Payload, source: str, period: str, *, encoding: str, fields: tuple[Field, ...]) -> Parsed:
    """Decode strictly, check the header, turn each record into a raw row or a quarantine row.

    A wrong encoding or a missing column fails the whole payload (named by source, period, URL);
    a bad value fails only its row (:mod:`ingest.columnar` reads the columns). Blank records
    (e.g. at the end of the export) are skipped.
    """
    from ingest.columnar import parse_csv_columnar  # pyarrow: imported when a CSV feed is read

    content = decode(payload, source, period, encoding)
    header, index = read_header(content, fields, source, period, payload.url)
    return parse_csv_columnar(payload, content, header, index, fields)
