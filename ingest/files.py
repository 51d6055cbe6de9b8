"""What the monthly *file* feeds share (customs XLSX, police and finance CSV): a conditional GET
where 404 means "not published yet", reading a CSV export whose rows go to raw or quarantine, and
the bounds a zipped workbook must keep before anything unzips it.
"""

from __future__ import annotations

import csv
import io
import zipfile

from ingest.base import FeedError, Fetched, Parsed, Payload
from ingest.fields import WHITESPACE, Field
from ingest.http import FeedClient, public_url
from ingest.limits import Limits, megabytes

# the compression ratio is judged only for entries at least this large: a small entry cannot cost much
RATIO_FLOOR = 1 << 20


def fetch_file(
    client: FeedClient,
    source: str,
    period: str,
    path: str,
    *,
    etag: str | None,
    headers: dict | None = None,
    params: dict | None = None,
    auth=None,
) -> Fetched:
    headers = dict(headers or {})
    if etag:
        headers["If-None-Match"] = etag  # cheap re-check of a month we hold: 304 if not re-issued
    response = client.get(path, params=params, headers=headers, auth=auth, source=source, period=period)
    if response.status_code == 404:
        return Fetched(not_published=True)
    if response.status_code == 304:
        return Fetched(unchanged=True)
    url = public_url(response.url)
    if response.status_code != 200:
        raise FeedError(source, period, url, f"unexpected HTTP {response.status_code}")
    return Fetched(
        [
            Payload(
                url,
                response.content,
                response.status_code,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
            )
        ]
    )


def check_zip(payload: Payload, source: str, period: str, limits: Limits) -> None:
    """Refuse a zip (an XLSX workbook) that would unzip past the bounds, from its central directory
    alone: nothing is decompressed. Each entry's uncompressed size, their sum, and (for entries of
    a megabyte or more) the compression ratio. The reader never unzips more than an entry's
    declared size (calamine's zip refuses a larger entry: "File is larger than its declared
    uncompressed size"), so the declared sizes bound what parsing can cost.
    A body that is not a zip is left to the parser, which says so."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(payload.body)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    cap = limits.max_unzipped_bytes

    def refuse(reason: str) -> FeedError:
        return FeedError(source, period, payload.url, f"workbook refused before unzipping: {reason}")

    total = 0
    for entry in entries:
        if entry.file_size > cap:
            raise refuse(
                f"entry {entry.filename!r} unzips to {entry.file_size:,} bytes, over the cap of "
                f"{megabytes(cap)} (IPKPI_MAX_UNZIPPED_MB)"
            )
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= RATIO_FLOOR and ratio > limits.max_zip_ratio:
            raise refuse(
                f"entry {entry.filename!r} is compressed {ratio:,.0f}:1 ({entry.compress_size:,} → "
                f"{entry.file_size:,} bytes), over the ratio cap of {limits.max_zip_ratio:g} "
                f"(IPKPI_MAX_ZIP_RATIO)"
            )
        total += entry.file_size
        if total > cap:
            raise refuse(f"its {len(entries)} entries unzip to more than {megabytes(cap)} (IPKPI_MAX_UNZIPPED_MB)")


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


def read_header(
    content: str, fields: tuple[Field, ...], source: str, period: str, url: str
) -> tuple[list[str], list[int]]:
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
