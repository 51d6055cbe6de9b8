"""Field readers shared by the connectors: each returns the typed value or raises ``RowError``
with the quarantine reason (``unknown_region``, ``unparsable_date:<field>``, ``invalid_enum:<field>`` …).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from ingest.base import RowError

REGIONS_CSV = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "ref_regions.csv"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    """The 11 codes of the contract's reference/regions.csv (a copy kept identical by a test)."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return frozenset(row["region_code"] for row in csv.DictReader(f))


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


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
    try:
        match = SLASH_DATE.match(raw)
        if match:
            return dt.date(*(int(g) for g in match.groups()))
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RowError(f"unparsable_date:{field}") from None


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
    """An exact decimal ≥ 0; `thousands` accepts `"1,234,500.50"`."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if optional:
            return None
        raise RowError(f"missing:{field}")
    if isinstance(value, bool):
        raise RowError(f"unparsable_number:{field}")
    raw = repr(value) if isinstance(value, float) else text(value)
    if thousands:
        raw = raw.replace(",", "")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"unparsable_number:{field}") from None
    if not number.is_finite():
        raise RowError(f"unparsable_number:{field}")
    if number < 0:
        raise RowError(f"negative_number:{field}")
    return number


def integer(value, field: str) -> int:
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
    code = text(value).upper()
    if len(code) != 18 or any(c not in USCC_CHARSET for c in code):
        raise RowError(f"invalid_uscc:{field}")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = USCC_CHARSET[(31 - total % 31) % 31]
    if code[17] != check:
        raise RowError(f"invalid_uscc:{field}")
    return code
