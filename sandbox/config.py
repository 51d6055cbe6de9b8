"""Sandbox configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ingest.registry import AGENCIES as DECLARED

from .timeutil import TZ, parse_iso

# one credential per agency the connectors declare (ingest.registry: its key in the credentials
# file); tests/sandbox holds the route table to serve each of them
AGENCIES = tuple(DECLARED)
FAULT_KINDS = ("429", "500", "502", "503", "reset", "timeout", "short_page")
# Opt-in hostile behaviours (README "Hostile mode"): mode -> the agencies it can apply to.
# The body modes replace the body of a route's 200 answers; the others change a feed's paging.
BODY_AGENCIES = AGENCIES
HOSTILE_MODES = {
    "huge_body": BODY_AGENCIES,  # hostile_size bytes, with a Content-Length saying so
    "unbounded_body": BODY_AGENCIES,  # hostile_size bytes, no Content-Length (ends when the connection closes)
    "gzip_bomb": BODY_AGENCIES,  # hostile_size bytes gzip-compressed (Content-Encoding: gzip), ~1000:1
    "trickle": BODY_AGENCIES,  # the real body, one byte every trickle_interval seconds
    "zip_bomb": ("customs",),  # the real workbook, its sheet padded to hostile_size bytes, ~1000:1
    "endless_pages": ("amr",),  # AMR cases: full pages and a fresh next_cursor for ever
    "repeated_cursor": ("amr",),  # AMR cases: every page's next_cursor is page 2's
    "huge_total": ("court",),  # courts: total = hostile_total, full pages for ever
}
DEFAULT_SEED = 20180101
DEFAULT_AS_OF = "2026-06-30T00:00:00+08:00"

# Each agency's publication rhythm (README "Simulation clock"). Month M's file or statistics
# document (revision 1) comes out `lag` days after the last day of M, lag drawn uniformly from
# the agency's (lo, hi) range, deterministically per (seed, agency, month); with probability
# PUBLICATION_LATE_RATE the month is late by a further PUBLICATION_LATE_EXTRA days. The day
# is then moved to the next working day (Mon-Fri) and the instant falls between 09:00 and 16:00
# +08:00. Keys are the names the generators use (`amr-stats` = the AMR statistics return).
PUBLICATION_LAGS = {
    "police": (5, 12),  # the bureau's export, quickest
    "finance": (8, 16),  # compiled from the national pledge registries
    "amr-stats": (12, 20),  # the IP office's statistics return, revision 1
    "customs": (15, 24),  # the customs workbook, slowest
}
PUBLICATION_LATE_RATE = 0.12  # per (agency, month)
PUBLICATION_LATE_EXTRA = (14, 45)  # extra days when late
# Re-issues (customs) and statistics revisions >= 2: strictly more than this many days after the
# first publication, at most REISSUE_MAX_MONTHS calendar months after it, and before
# timeutil.REISSUE_DEADLINE.
REISSUE_MIN_DAYS = 3
REISSUE_MAX_MONTHS = 12


@dataclass
class SandboxConfig:
    """Everything that decides what the sandbox serves.

    credentials: one secret per agency (court, customs, police, amr, finance). There is no
        default: the project generates random ones.
    scale / seed: the dataset (see sandbox/README.md). scale multiplies record volume.
    as_of: the simulation clock (ISO-8601 with offset); the server answers as the agencies
        would at that instant: everything published later (Dataset.publication_events) is hidden.
    fault_*: transient fault injection (off by default).
    traps: opt-in extra traps, e.g. {"ytd_decrease": "2021-05", "customs_total_mismatch": "2020-03",
        "police_small_bad_month": "2020-02"}.
    hostile: opt-in hostile behaviours (off by default), a tuple of modes of HOSTILE_MODES (each on
        every agency it can apply to), a comma-separated string, or a mapping mode -> agency name(s)
        or True, e.g. {"trickle": "police", "huge_total": True}. Sizes: hostile_size bytes (body
        modes, zip_bomb), hostile_total (huge_total), trickle_interval seconds (trickle).
    """

    credentials: Mapping[str, str] = field(default_factory=dict)
    scale: int = 1
    seed: int = DEFAULT_SEED
    as_of: str | datetime = DEFAULT_AS_OF
    fault_rate: float = 0.0
    fault_kinds: tuple = FAULT_KINDS
    fault_seed: int = 0
    retry_after: int = 1
    timeout_delay: float = 3.0
    police_user: str = "ipkpi"
    traps: Mapping[str, Any] = field(default_factory=dict)
    hostile: Any = ()
    hostile_size: int = 64 << 20
    hostile_total: int = 10**9
    trickle_interval: float = 2.0

    def __post_init__(self) -> None:
        self.credentials = dict(self.credentials or {})
        if isinstance(self.fault_kinds, str):
            self.fault_kinds = tuple(k.strip() for k in self.fault_kinds.split(",") if k.strip())
        self.fault_kinds = tuple(str(k) for k in self.fault_kinds)
        bad = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; known: {FAULT_KINDS}")
        if not 0.0 <= float(self.fault_rate) <= 1.0:
            raise ValueError("fault_rate must be in [0, 1]")
        self.fault_rate = float(self.fault_rate)
        self.scale = int(self.scale)
        if self.scale < 1:
            raise ValueError("scale must be >= 1")
        self.seed = int(self.seed)
        self.traps = dict(self.traps or {})
        from .dataset import OPT_IN_TRAPS

        unknown = set(self.traps) - set(OPT_IN_TRAPS)
        if unknown:
            raise ValueError(f"unknown traps {sorted(unknown)}; known: {OPT_IN_TRAPS}")
        self.hostile = hostile_modes(self.hostile)
        self.hostile_size = int(self.hostile_size)
        self.hostile_total = int(self.hostile_total)
        self.trickle_interval = float(self.trickle_interval)
        if self.hostile_size < 1 or self.hostile_total < 1 or self.trickle_interval < 0:
            raise ValueError("hostile_size and hostile_total must be >= 1, trickle_interval >= 0")
        self.as_of_dt  # validate

    def hostile_to(self, mode: str, agency: str) -> bool:
        """Whether the hostile ``mode`` is on for ``agency``."""
        return agency in self.hostile.get(mode, ())

    @property
    def as_of_dt(self) -> datetime:
        if isinstance(self.as_of, datetime):
            dt = self.as_of
            return dt if dt.tzinfo else dt.replace(tzinfo=TZ)
        return parse_iso(self.as_of)

    @staticmethod
    def load_credentials(path: str) -> dict:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict):
            raise ValueError("credentials file must hold a JSON object")
        missing = [a for a in AGENCIES if not data.get(a)]
        if missing:
            raise ValueError(f"credentials file lacks {missing}")
        return {k: str(v) for k, v in data.items()}


def hostile_modes(given) -> dict:
    """``hostile`` as {mode: frozenset of agencies}: from a tuple/list of modes, a comma-separated
    string, or a mapping mode -> agency, list of agencies, or True (every agency it applies to)."""
    if not given:
        return {}
    if isinstance(given, str):
        given = [m.strip() for m in given.split(",") if m.strip()]
    if not isinstance(given, Mapping):
        given = {m: True for m in given}
    modes = {}
    for mode, agencies in given.items():
        if mode not in HOSTILE_MODES:
            raise ValueError(f"unknown hostile mode {mode!r}; known: {tuple(HOSTILE_MODES)}")
        applicable = HOSTILE_MODES[mode]
        if agencies is True:
            agencies = applicable
        elif isinstance(agencies, str):
            agencies = (agencies,)
        elif not agencies:
            continue
        bad = [a for a in agencies if a not in applicable]
        if bad:
            raise ValueError(f"hostile mode {mode!r} applies to {applicable}, not {bad}")
        modes[mode] = frozenset(agencies)
    return modes
