"""The CSV exports (police, finance) read a column at a time, with pyarrow.

Why not row by row: reading and checking each row in Python cost ~8.5 µs, 2.6× what Postgres
spends to COPY the row, so a month took three times as long to read as to load. Here pyarrow's C++
reader splits the file (RFC 4180: quotes, CRLF, newlines inside quotes) and every field's rule runs
as one vectorised expression over its column — except where a column holds few distinct values
(dates, head counts): there each distinct value is read once by the field's own reader. Python
otherwise only touches the rows that fail.

The rules are those of :mod:`ingest.fields`, with the same grammars and the same reasons: a
row's quarantine reason is its first failing field in the connector's order; a row of blank cells
is skipped; a row with the wrong number of cells is ``wrong_column_count``; ``source_row`` is the
record's position in the file (header = 1). ``tests/ingest/test_columnar.py`` holds the two
readings to the same answers, value by value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ingest import fields as F
from ingest.base import Parsed, Payload, Rejected, RowError
from ingest.fields import WHITESPACE, Field

USCC_VALUES = np.full(256, -1, np.int64)  # byte -> its value in the USCC charset, -1 outside it
USCC_VALUES[np.frombuffer(F.USCC_CHARSET.encode(), np.uint8)] = np.arange(len(F.USCC_CHARSET))
USCC_WEIGHTS = np.array(F.USCC_WEIGHTS, np.int64)
# a month's dates and head counts are a few hundred distinct values among thousands of cells: each
# distinct value is read once, in Python, by the field's own reader (police: 38 -> 15 ms a ×100
# year for its two date columns, against numpy over every cell; finance 35 -> 12 ms)
READ_PER_DISTINCT = {"date", "integer"}


@dataclass
class ColumnarRows:
    """A month's good rows as an Arrow table (page, row, then the fields' columns as COPY text)."""

    table: pa.Table

    def __len__(self) -> int:
        return self.table.num_rows

    def copy_blocks(self, load_id: int, rows_per_block: int = 20_000):
        """The rows as CSV for ``COPY … (FORMAT csv)``, led by their load id, a block at a time."""
        table = self.table.add_column(0, "load_id", pa.repeat(pa.scalar(load_id, pa.int64()), self.table.num_rows))
        options = pcsv.WriteOptions(include_header=False)
        for batch in table.to_batches(max_chunksize=rows_per_block):
            sink = io.BytesIO()
            pcsv.write_csv(batch, sink, write_options=options)  # a null is an empty field: NULL to COPY
            yield sink.getvalue()


def parse_csv_columnar(payload: Payload, content: str, header: list[str], index: list[int],
                       fields: tuple[Field, ...]) -> Parsed:
    """Read a decoded CSV export whose header (``header``, fields at ``index``) is already checked."""
    width = len(header)
    ragged: list[tuple[int, list[str]]] = []

    def wrong_width(row) -> str:
        ragged.append((row.number, next(csv.reader([row.text]), [])))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    table = pcsv.read_csv(
        io.BytesIO(content.encode("utf-8")),
        read_options=pcsv.ReadOptions(use_threads=False, skip_rows=1, column_names=names),  # numbered rows
        parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                        invalid_row_handler=wrong_width),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                            strings_can_be_null=False, quoted_strings_can_be_null=False))
    rows = row_numbers(table.num_rows, [number for number, _ in ragged])
    cells = {i: pc.utf8_trim(table.column(f"c{i}"), WHITESPACE) for i in range(width)}
    blank = _all(pc.equal(cells[i], "") for i in range(width))

    values, reasons = [], []
    for f, i in zip(fields, index):
        value, reason = read_column(f, cells[i])
        values.append(value)
        reasons.append(reason)
    reason = pc.coalesce(*reasons) if reasons else pa.nulls(table.num_rows, pa.string())
    keep = pc.and_(pc.invert(blank), pc.is_null(reason))
    refused = pc.and_(pc.invert(blank), pc.is_valid(reason))

    good = pa.table([pa.repeat(pa.scalar(payload.page, pa.int32()), table.num_rows), rows, *values],
                    names=["source_page", "source_row", *[f.column for f in fields]]).filter(keep)
    parsed = Parsed(rows=ColumnarRows(good))
    records = table.filter(refused).to_pylist()  # the cells as received, untrimmed
    for row, why, record in zip(rows.filter(refused).to_pylist(), reason.filter(refused).to_pylist(), records):
        parsed.rejected.append(Rejected(payload.page, row, why, {f.source: record[f"c{i}"] for f, i in zip(fields, index)}))
    for number, got in ragged:
        if got and any(c.strip(WHITESPACE) for c in got):
            parsed.rejected.append(Rejected(payload.page, number, "wrong_column_count",
                                            {f.source: (got[i] if i < len(got) else None) for f, i in zip(fields, index)}))
    parsed.rejected.sort(key=lambda r: r.row)
    return parsed


def row_numbers(count: int, skipped: list[int]) -> pa.Array:
    """File record numbers (header = 1) of the table's rows, given the records the reader skipped."""
    numbers = pa.array(np.arange(2, 2 + count + len(skipped), dtype=np.int32))
    if not skipped:
        return numbers
    return numbers.filter(pc.invert(pc.is_in(numbers, value_set=pa.array(skipped, pa.int32()))))


def read_column(f: Field, cells: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(value as COPY text or null, quarantine reason or null) for every cell of a field's column."""
    if f.kind in READ_PER_DISTINCT:
        return _per_distinct(f, cells)
    name, empty = f.source, pc.equal(cells, "")
    if f.kind == "required":
        return cells, _reason(empty, f"missing:{name}")
    if f.kind == "text":
        return _null_where(empty, cells), _no_reason(cells)
    if f.kind in ("enum", "flag"):
        allowed = list(f.flags) if f.kind == "flag" else list(f.allowed)
        ok = pc.is_in(cells, value_set=pa.array(allowed, pa.string()))
        if f.optional:
            ok = pc.or_(ok, empty)
        value = _null_where(empty, cells)
        if f.kind == "flag":
            value = pc.is_in(cells, value_set=pa.array([k for k, v in f.flags.items() if v], pa.string()))
            value = pc.if_else(value, "true", "false")
        return value, _reason(pc.invert(ok), f"invalid_enum:{name}")
    if f.kind == "region":
        ok = pc.is_in(cells, value_set=pa.array(sorted(F.region_codes()), pa.string()))
        return cells, _reason(pc.invert(ok), "unknown_region")
    if f.kind == "uscc":
        return cells, _reason(pc.invert(_uscc_ok(cells)), f"invalid_uscc:{name}")
    if f.kind == "decimal":
        ok = pc.match_substring_regex(cells, F.NUMBER_THOUSANDS if f.thousands else F.NUMBER)
        value = pc.replace_substring(cells, ",", "") if f.thousands else cells
        negative = pc.and_(pc.starts_with(value, "-"), pc.match_substring_regex(value, "[1-9]"))  # "-0" is 0
        missing = pa.scalar(None if f.optional else f"missing:{name}", pa.string())
        reason = pc.if_else(empty, missing, pc.if_else(pc.fill_null(ok, False), pa.scalar(None, pa.string()),
                                                       f"unparsable_number:{name}"))
        reason = pc.coalesce(reason, _reason(pc.and_(ok, negative), f"negative_number:{name}"))
        return _null_where(empty, value), reason
    raise ValueError(f"unknown field kind {f.kind}")


def _per_distinct(f: Field, cells: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each distinct cell read once by the field's own reader (:mod:`ingest.fields`), the answers
    spread back to every cell: the same grammar and reasons as row by row, by construction."""
    encoded = pc.dictionary_encode(cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells)
    read = [read_cell(f, cell) for cell in encoded.dictionary.to_pylist()]
    values = pa.array([value for value, _ in read], pa.string())
    reasons = pa.array([reason for _, reason in read], pa.string())
    return values.take(encoded.indices), reasons.take(encoded.indices)


@lru_cache(maxsize=1 << 16)  # a run's months share most of their dates: read once per run, not per month
def read_cell(f: Field, cell: str) -> tuple[str | None, str | None]:
    """(COPY text or None, quarantine reason or None) of one cell, as the row-by-row reader reads it."""
    try:
        value = f.reader(cell)
    except RowError as bad:
        return None, bad.reason
    return (None if value is None else str(value)), None


def _byte_matrix(fixed: pa.Array, width: int) -> np.ndarray:
    """A fixed-size-binary column's bytes, one row per value (no copy)."""
    if isinstance(fixed, pa.ChunkedArray):  # a table's column
        fixed = pa.concat_arrays(fixed.chunks) if fixed.num_chunks else pa.array([], pa.binary(width))
    flat = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)[fixed.offset * width:(fixed.offset + len(fixed)) * width]
    return flat.reshape(-1, width)


def _uscc_ok(cells: pa.Array) -> pa.Array:
    """GB 32100-2015: 18 characters of the charset, the last one the check character of the first 17.

    As an N×18 byte matrix in numpy (one table look-up and one dot product for the whole column):
    slicing the column 18 times in Arrow cost a third of reading a finance export.
    """
    eighteen = pc.equal(pc.binary_length(cells), 18)  # the charset is ASCII: 18 bytes or it is wrong
    fixed = pc.cast(pc.if_else(eighteen, cells, pa.scalar(None, pa.string())), pa.binary(18))
    values = USCC_VALUES[_byte_matrix(fixed, 18)]
    check = (31 - (values[:, :17] @ USCC_WEIGHTS) % 31) % 31
    ok = (values >= 0).all(axis=1) & (values[:, 17] == check)
    return pc.and_(pc.fill_null(eighteen, False), pa.array(ok))


def _reason(mask: pa.Array, reason: str) -> pa.Array:
    return pc.if_else(pc.fill_null(mask, False), reason, pa.scalar(None, pa.string()))


def _no_reason(cells: pa.Array) -> pa.Array:
    return pa.nulls(len(cells), pa.string())


def _null_where(mask: pa.Array, values: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _all(masks) -> pa.Array:
    result = None
    for mask in masks:
        result = mask if result is None else pc.and_(result, mask)
    return result
