"""Bounds on what a feed may make us do: how many bytes a response may hold, how long its body may
take, how large a workbook may unzip to, how many pages a month may span.

Read once, from the environment, when a FeedClient is made (:meth:`Limits.from_env`); a test or
a tool may hand a ``Limits`` of its own to ``FeedClient(limits=...)``. The defaults are bounds,
not tight fits. The largest the sandbox serves at ×1000 its default volume (measured, months
2024-12 and 2025-12): a finance CSV 35 MB, a police CSV 3.5 MB, a customs workbook 4.6 MB
unzipping to 44 MB at 9.7:1; a month of the court 1,100 pages of 500, of AMR cases 5,200 pages of
100 (×1 figures × 1000). All stay an order of magnitude inside the defaults: a response over a
bound is hostile or broken, not big.

| variable | default | bounds |
|---|---|---|
| ``IPKPI_MAX_PAYLOAD_MB`` | 512 | one response body, as sent (``Content-Length``, bytes on the wire) and as decoded (after gzip/deflate); the raw archive's ``bytea`` holds 1 GB at most |
| ``IPKPI_MAX_UNZIPPED_MB`` | 2048 | a workbook (customs XLSX): the sum of its zip entries' uncompressed sizes, and each entry's |
| ``IPKPI_MAX_ZIP_RATIO`` | 200 | a workbook entry's uncompressed size ÷ its compressed size (XLSX XML ≈ 7–10; a zip bomb ≈ 1,000) |
| ``IPKPI_REQUEST_DEADLINE_S`` | 120 | wall-clock seconds to read one response's body, from its headers to its last byte (requests' time-outs are per read) |
| ``IPKPI_MAX_PAGES`` | 20000 | pages of one month of a paged JSON feed (court: as promised by ``total``; AMR: cursors followed) |

A payload over a bound fails the task with a :class:`ingest.base.FeedError` naming source,
period and URL; it is not retried (retrying would meet the same payload) and nothing of it is
archived or loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1 << 20

# variable -> (field, unit multiplier, default in the variable's unit)
ENVIRONMENT = {
    "IPKPI_MAX_PAYLOAD_MB": ("max_payload_bytes", MB, 512),
    "IPKPI_MAX_UNZIPPED_MB": ("max_unzipped_bytes", MB, 2048),
    "IPKPI_MAX_ZIP_RATIO": ("max_zip_ratio", 1, 200),
    "IPKPI_REQUEST_DEADLINE_S": ("request_deadline_s", 1, 120),
    "IPKPI_MAX_PAGES": ("max_pages", 1, 20_000),
}


@dataclass(frozen=True)
class Limits:
    max_payload_bytes: int = 512 * MB
    max_unzipped_bytes: int = 2048 * MB
    max_zip_ratio: float = 200.0
    request_deadline_s: float = 120.0
    max_pages: int = 20_000

    def __post_init__(self) -> None:
        for name in ("max_payload_bytes", "max_unzipped_bytes", "max_zip_ratio", "request_deadline_s", "max_pages"):
            if not getattr(self, name) > 0:
                raise ValueError(f"limit {name} must be positive, not {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, environ=None) -> "Limits":
        """The limits the environment sets (a variable unset or empty: its default)."""
        environ = os.environ if environ is None else environ
        values = {}
        for variable, (name, unit, default) in ENVIRONMENT.items():
            raw = (environ.get(variable) or "").strip()
            if not raw:
                value = default
            else:
                try:
                    value = float(raw)
                except ValueError:
                    raise ValueError(f"{variable} must be a number, not {raw!r}") from None
                if not value > 0 or value != value or value == float("inf"):
                    raise ValueError(f"{variable} must be a positive number, not {raw!r}")
            value *= unit
            values[name] = (
                int(value) if name in ("max_payload_bytes", "max_unzipped_bytes", "max_pages") else float(value)
            )
        return cls(**values)


def megabytes(n: int) -> str:
    """A byte count for a message: ``512 MB``, ``0.25 MB``."""
    return f"{n / MB:g} MB"
