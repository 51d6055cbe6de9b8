"""What the JSON API feeds share (courts, AMR): reading a JSON page strictly, once, and paging
with a check of every page against the promised total.

A page is decoded once, when it is received (paging needs its ``total`` / ``next_cursor``): the
document rides on its :class:`Payload` to ``parse``, which takes it (:func:`page_document`).

A *short page* (fewer items than asked, but not the last) is a transient fault of the feed: the
page is asked for again a few times; if it stays short, the task fails naming source, period, URL.
"""

from __future__ import annotations

import json
import time

import orjson

from ingest.base import FeedError, Payload
from ingest.http import Reply, public_url

SHORT_PAGE_RETRIES = 4


def decode_json(body: bytes, source: str, period: str, url: str):
    """A JSON body, strictly. orjson reads it (half the standard library's time); what orjson
    refuses is asked of the standard library, whose grammar the feeds have always been read with
    (it also takes NaN, Infinity and lone surrogates): the same bodies are accepted, and a refused
    one is named by the standard library's reason. (orjson reads an integer beyond 64 bits as a
    float: no field of the contract can hold one — numeric(20,2) stops below 10^18.)"""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(source, period, url, f"invalid JSON ({exc})") from None


def json_body(response: Reply, source: str, period: str) -> dict:
    url = public_url(response.url)
    if response.status_code != 200:
        raise FeedError(source, period, url, f"unexpected HTTP {response.status_code}")
    body = decode_json(response.content, source, period, url)
    if not isinstance(body, dict):
        raise FeedError(source, period, url, "JSON body is not an object")
    return body


def payload_json(payload: Payload, source: str, period: str):
    """An archived JSON payload, decoded."""
    return decode_json(payload.body, source, period, payload.url)


def page_document(payload: Payload, source: str, period: str):
    """A page's document: the one decoded when it was received, handed over (not kept twice), or
    — a payload parsed again later — decoded now."""
    document, payload.document = payload.document, None
    return payload_json(payload, source, period) if document is None else document


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
