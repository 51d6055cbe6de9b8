"""What the JSON API feeds share (courts, AMR): reading a JSON page strictly, and paging with a
check of every page against the promised total.

A *short page* (fewer items than asked, but not the last) is a transient fault of the feed: the
page is asked for again a few times; if it stays short, the task fails naming source, period, URL.
"""

from __future__ import annotations

import json
import time

from ingest.base import FeedError, Parsed, Payload, Rejected, RowError
from ingest.http import Reply, public_url

SHORT_PAGE_RETRIES = 4


def json_body(response: Reply, source: str, period: str) -> dict:
    url = public_url(response.url)
    if response.status_code != 200:
        raise FeedError(source, period, url, f"unexpected HTTP {response.status_code}")
    try:
        body = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(source, period, url, f"invalid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise FeedError(source, period, url, "JSON body is not an object")
    return body


def payload_json(payload: Payload, source: str, period: str) -> dict:
    """An archived JSON page, read again for parsing."""
    try:
        return json.loads(payload.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(source, period, payload.url, f"invalid JSON ({exc})") from None


def parse_pages(payloads: list[Payload], source: str, period: str, items_key: str, row) -> Parsed:
    """Every record of every page: a raw row (page, position, *row(record)) or a quarantine row."""
    parsed = Parsed()
    for payload in payloads:
        body = payload_json(payload, source, period)
        for i, record in enumerate(body[items_key], start=1):
            try:
                if not isinstance(record, dict):
                    raise RowError("not_an_object")
                parsed.rows.append((payload.page, i, *row(record)))
            except RowError as exc:
                parsed.rejected.append(Rejected(payload.page, i, exc.reason, record))
    return parsed


def expect_keys(body: dict, keys: tuple[str, ...], source: str, period: str, url: str) -> None:
    missing = [k for k in keys if k not in body]
    if missing:
        raise FeedError(source, period, url, f"JSON body lacks {missing}")


def retry_short(fetch_page, is_short, source: str, period: str, describe: str):
    """Call ``fetch_page()`` until ``is_short(result)`` is false, a few times at most."""
    for attempt in range(SHORT_PAGE_RETRIES + 1):
        result = fetch_page()
        if not is_short(result):
            return result
        if attempt < SHORT_PAGE_RETRIES:
            time.sleep(0.2 * (attempt + 1))
    raise FeedError(source, period, describe, "page shorter than page_size before the last page, after retries")
