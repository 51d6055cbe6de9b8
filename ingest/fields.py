"""Field readers shared by the connectors: each returns the typed value or raises ``RowError``
with the quarantine reason (``unknown_region``, ``unparsable_date:<field>``, ``invalid_enum:<field>`` …).

The grammars (regular expressions below) are the single definition of what a valid value looks
like; the readers below are bound to them once per field. A connector declares its columns as
:class:`Field` s (a CSV header, a JSON key, a workbook column); :mod:`ingest.columnar` reads
them a column at a time and is held to these readers, value by value, by the tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property, lru_cache, partial
from pathlib import Path

from ingest.base import Column, RowError

REGIONS_CSV = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "ref_regions.csv"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
WHITESPACE = " \t\r\n"

# ASCII digits only ([0-9], not \d): Python's \d would also take full-width digits, Postgres' would not
ISO_DATE = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"
SLASH_DATE = r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})$"  # the police export's other form, YYYY/M/D
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
NUMBER_THOUSANDS = r"^-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$"  # "1,234,500.50"
INTEGER = r"^-?[0-9]+$"
_DATE_RES = (re.compile(ISO_DATE), re.compile(SLASH_DATE))
_NUMBER_RE = {False: re.compile(NUMBER), True: re.compile(NUMBER_THOUSANDS)}
_INTEGER_RE = re.compile(INTEGER)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
# a timestamp as the JSON feeds write it, ranges checked (the day of the month is checked apart):
# such a text means the same instant to Python and to Postgres, so it is loaded as received
ISO_TIMESTAMP = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"([+-]([01][0-9]|2[0-3]):[0-5][0-9]|Z)$"
)
FOUR_PLACES = Decimal("0.0001")


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    """The 11 codes of the contract's reference/regions.csv (a copy kept identical by a test)."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return frozenset(row["region_code"] for row in csv.DictReader(f))


def text(value) -> str:
    return value.strip(WHITESPACE) if isinstance(value, str) else ("" if value is None else str(value))


def required(value, field: str) -> str:
    value = text(value)
    if not value:
        raise RowError(f"missing:{field}")
    return value


def region(value, field: str = "region") -> str:
    code = text(value)
    if code not in region_codes():
        raise RowError("unknown_region")
    return code


def enum(value, allowed, field: str, *, optional: bool = False) -> str | None:
    value = text(value)
    if optional and value == "":
        return None
    if value not in allowed:
        raise RowError(f"invalid_enum:{field}")
    return value


def date(value, field: str, *, optional: bool = False) -> dt.date | None:
    """`YYYY-MM-DD`, or `YYYY/M/D` (police), or an Excel/JSON date already typed."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    if raw == "":
        if optional:
            return None
        raise RowError(f"missing:{field}")
    for pattern in _DATE_RES:
        match = pattern.match(raw)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:  # out of range: month 13, February 30th, year 0
                break
    raise RowError(f"unparsable_date:{field}")


def timestamp(value, field: str) -> dt.datetime:
    raw = text(value)
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise RowError(f"unparsable_timestamp:{field}") from None
    if parsed.tzinfo is None:
        raise RowError(f"unparsable_timestamp:{field}")
    return parsed


def decimal(value, field: str, *, optional: bool = False, thousands: bool = False) -> Decimal | None:
    """An exact decimal ≥ 0 written as digits with an optional fraction; `thousands` also accepts
    `"1,234,500.50"`. JSON numbers arrive typed."""
    if value is None or (isinstance(value, str) and text(value) == ""):
        if optional:
            return None
        raise RowError(f"missing:{field}")
    if isinstance(value, bool):
        raise RowError(f"unparsable_number:{field}")
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise RowError(f"unparsable_number:{field}")
    else:
        raw = text(value)
        if not _NUMBER_RE[thousands].match(raw):
            raise RowError(f"unparsable_number:{field}")
        number = Decimal(raw.replace(",", ""))
    if number < 0:
        raise RowError(f"negative_number:{field}")
    return number


def wan_4(value) -> Decimal:
    """A 万元 cell (a binary float) as the 4-decimal number it shows, rounded half-up (customs)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InvalidOperation(f"not a number: {value!r}")
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(FOUR_PLACES, ROUND_HALF_UP)


def wan(value, field: str) -> Decimal:
    try:
        number = wan_4(value)
    except InvalidOperation:
        raise RowError(f"unparsable_number:{field}") from None
    if number < 0:
        raise RowError(f"negative_number:{field}")
    return number


def cell_date(value, field: str) -> dt.date:
    """A workbook's date column: an Excel date cell, never a text or a bare number."""
    if not isinstance(value, dt.date):
        raise RowError(f"unparsable_date:{field}")
    return value.date() if isinstance(value, dt.datetime) else value


def ordinal(value) -> int | None:
    """A row number kept as information (the customs 序号): a whole number, else nothing."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def integer(value, field: str) -> int:
    if isinstance(value, str):
        raw = text(value)
        if raw == "":
            raise RowError(f"missing:{field}")
        if not _INTEGER_RE.match(raw):
            raise RowError(f"unparsable_number:{field}")
    number = decimal(value, field)
    if number != number.to_integral_value():
        raise RowError(f"unparsable_number:{field}")
    return int(number)


def boolean(value, field: str, *, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise RowError(f"invalid_bool:{field}")
    return value


def uscc(value, field: str) -> str:
    """An 18-character unified social credit code with a valid GB 32100-2015 check character."""
    code = text(value)
    try:
        if len(code) != 18:
            raise KeyError(code)
        values = [_USCC_VALUE[c] for c in code]
    except KeyError:
        raise RowError(f"invalid_uscc:{field}") from None
    total = sum(map(int.__mul__, values, USCC_WEIGHTS))
    if values[17] != (31 - total % 31) % 31:
        raise RowError(f"invalid_uscc:{field}")
    return code


@dataclass(frozen=True, eq=False)
class Field:
    """One column of a feed — a CSV header, a JSON key, a workbook column — with its raw column,
    kind and options.

    A connector lists its fields once, in the order a record is checked (the first failing field
    names the quarantine reason); its raw table is declared from that list.
    """

    source: str  # the contract's name: the CSV or workbook header, the JSON key
    column: str  # the raw table's column
    # required | text | date | decimal | integer | enum | region | uscc | flag (text cells);
    # boolean | timestamp (JSON); cell_date | wan | ordinal (workbook cells)
    kind: str
    pg_type: str
    optional: bool = False
    allowed: tuple = ()
    thousands: bool = False
    flags: dict = dc_field(default_factory=dict)  # kind "flag": text -> bool (是 / 否)
    in_period: bool = False  # a date that must fall in the month read (else date_outside_period:<source>)
    note: str = ""  # what the raw column's comment adds to the contract's name

    @property
    def raw_column(self) -> Column:
        return Column(self.column, self.pg_type, f"{self.source} {self.note}".strip())

    @cached_property
    def reader(self):
        """The reader of this field's cells, bound once (rows are read by the hundred thousand)."""
        name, kind = self.source, self.kind
        if kind == "required":
            return partial(required, field=name)
        if kind == "text":
            return lambda value: text(value) or None
        if kind == "date":
            return partial(date, field=name, optional=self.optional)
        if kind == "decimal":
            return partial(decimal, field=name, optional=self.optional, thousands=self.thousands)
        if kind == "integer":
            return partial(integer, field=name)
        if kind == "enum":
            return partial(enum, allowed=frozenset(self.allowed), field=name, optional=self.optional)
        if kind == "region":
            return partial(region, field=name)
        if kind == "uscc":
            return partial(uscc, field=name)
        if kind == "flag":
            flags, allowed = self.flags, frozenset(self.flags)
            return lambda value: flags[enum(value, allowed, name)]
        if kind == "boolean":
            return partial(boolean, field=name, optional=self.optional)
        if kind == "timestamp":
            return partial(timestamp, field=name)
        if kind == "cell_date":
            return partial(cell_date, field=name)
        if kind == "wan":
            return partial(wan, field=name)
        if kind == "ordinal":
            return ordinal
        raise ValueError(f"unknown field kind {kind}")


def key(name: str, kind: str, pg_type: str, **options) -> Field:
    """A JSON feed's field: its raw column is named as its key."""
    return Field(name, name, kind, pg_type, **options)
