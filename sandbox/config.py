"""Sandbox configuration."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from .timeutil import TZ, parse_iso

AGENCIES = ("court", "customs", "police", "amr", "finance")
FAULT_KINDS = ("429", "500", "502", "503", "reset", "timeout", "short_page")
DEFAULT_SEED = 20180101
DEFAULT_AS_OF = "2026-06-30T00:00:00+08:00"

# Each agency's publication rhythm (README "Simulation clock"). Month M's file or statistics
# document (revision 1) comes out `lag` days after the last day of M, lag drawn uniformly from
# the agency's (lo, hi) range, deterministically per (seed, agency, month); with probability
# PUBLICATION_LATE_RATE the month is late by a further PUBLICATION_LATE_EXTRA days. The day
# is then moved to the next working day (Mon-Fri) and the instant falls between 09:00 and 16:00
# +08:00. Keys are the names the generators use (`amr-stats` = the AMR statistics return).
PUBLICATION_LAGS = {
    "police": (5, 12),       # the bureau's export, quickest
    "finance": (8, 16),      # compiled from the national pledge registries
    "amr-stats": (12, 20),   # the IP office's statistics return, revision 1
    "customs": (15, 24),     # the customs workbook, slowest
}
PUBLICATION_LATE_RATE = 0.12       # per (agency, month)
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
    traps: opt-in extra traps, e.g. {"ytd_decrease": "2021-05", "customs_total_mismatch": "2020-03"}.
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
        self.as_of_dt  # validate

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
