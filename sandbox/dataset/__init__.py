"""The deterministic dataset behind the sandbox, and its truth API (independent of HTTP)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Optional

from ..config import DEFAULT_AS_OF, DEFAULT_SEED
from ..timeutil import TZ, parse_iso, ym_parse
from .amr import AmrData
from .amr_stats import StatsData
from .court import CourtData
from .customs import CustomsData
from .finance import FinanceData
from .police import PoliceData

OPT_IN_TRAPS = ("ytd_decrease", "customs_total_mismatch", "district_exceeds_city", "police_small_bad_month")


def _as_of(as_of) -> datetime:
    if as_of is None:
        return parse_iso(DEFAULT_AS_OF)
    if isinstance(as_of, datetime):
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=TZ)
    return parse_iso(as_of)


def _period(period) -> int:
    if isinstance(period, int):
        return period
    return ym_parse(str(period))


class Dataset:
    """Months 2018-01 … 2025-12 of the five feeds, generated lazily from (seed, scale).

    Every accessor is deterministic: two instances with the same (seed, scale, traps)
    serve byte-identical content.
    """

    def __init__(self, seed: int = DEFAULT_SEED, scale: int = 1, traps: Optional[Mapping[str, Any]] = None):
        self.seed = int(seed)
        self.scale = int(scale)
        if self.scale < 1:
            raise ValueError("scale must be >= 1")
        self.traps = dict(traps or {})
        unknown = set(self.traps) - set(OPT_IN_TRAPS)
        if unknown:
            raise ValueError(f"unknown traps {sorted(unknown)}; known: {OPT_IN_TRAPS}")
        self.customs = CustomsData(self)
        self.finance = FinanceData(self)
        self.police = PoliceData(self)
        self.court = CourtData(self)
        self.amr = AmrData(self)
        self.stats = StatsData(self)

    @classmethod
    def from_config(cls, cfg) -> "Dataset":
        return cls(seed=cfg.seed, scale=cfg.scale, traps=cfg.traps)

    # ------------------------------------------------------------------ customs
    def customs_versions(self, period):
        """Every workbook version of a month: list of CustomsVersion(published_at, rows, note)."""
        return self.customs.versions(_period(period))

    def customs_rows(self, period, as_of=None):
        """Data rows (合计 excluded) of the workbook served at as_of, or None if 404."""
        found = self.customs.version_at(_period(period), _as_of(as_of))
        return None if found is None else [dict(r) for r in found[1].rows]

    def customs_workbook(self, period, as_of=None):
        """(bytes, published_at) of the workbook served at as_of, or None."""
        i = _period(period)
        found = self.customs.version_at(i, _as_of(as_of))
        if found is None:
            return None
        k, v = found
        return self.customs.workbook(i, k), v.published_at

    # ------------------------------------------------------------------ finance
    def finance_published_at(self, period):
        return self.finance.published_at(_period(period))

    def finance_rows(self, period, as_of=None):
        """Rows (dicts of the CSV's text fields) of the pledge file for the month, or None if 404."""
        i = _period(period)
        pub = self.finance.published_at(i)
        if pub is None or pub > _as_of(as_of):
            return None
        return [dict(r) for r in self.finance.file_rows(i)]

    def finance_file(self, period, as_of=None):
        """(bytes, published_at) of the pledge CSV, or None if 404."""
        i = _period(period)
        pub = self.finance.published_at(i)
        if pub is None or pub > _as_of(as_of):
            return None
        return self.finance.file_bytes(i), pub

    # ------------------------------------------------------------------ police
    def police_published_at(self, period):
        return self.police.published_at(_period(period))

    def police_rows(self, period, as_of=None):
        """Rows of the police export as written (dicts of text fields), or None if 404."""
        from .police import HEADERS

        i = _period(period)
        pub = self.police.published_at(i)
        if pub is None or pub > _as_of(as_of):
            return None
        return [dict(zip(HEADERS, row)) for row in self.police.file_rows(i)]

    def police_file(self, period, as_of=None):
        i = _period(period)
        pub = self.police.published_at(i)
        if pub is None or pub > _as_of(as_of):
            return None
        return self.police.file_bytes(i), pub

    # ------------------------------------------------------------------ courts
    def court_versions(self, updated_since, updated_before, as_of=None):
        """Case versions with updated_at in [since, before) known at as_of, ordered by
        (updated_at, case_no), as the API serves them (amounts as Decimal 元)."""
        since = _as_of(updated_since)
        before = _as_of(updated_before)
        out = []
        for v in self.court.versions_between(since, before, _as_of(as_of)):
            out.append(_court_money(self.court.materialise(v)))
        return out

    def court_all_versions(self, as_of=None):
        """Every case version known at as_of (all windows), ordered by (updated_at, case_no)."""
        from ..timeutil import month_start_dt
        from .court import FIRST_GEN_YM, LAST_GEN_YM, MAX_LAG

        out = []
        for m in range(FIRST_GEN_YM, LAST_GEN_YM + MAX_LAG + 1):  # window by window: the cache stays warm
            out.extend(self.court_versions(month_start_dt(m), month_start_dt(m + 1), as_of))
        return out

    # ------------------------------------------------------------------ AMR
    def amr_cases(self, month, as_of=None):
        """The enforcement-case feed of a month at as_of (all pages), fine_yuan as Decimal 元."""
        from ..timeutil import FIRST_YM, LAST_YM

        i = _period(month)
        if not FIRST_YM <= i <= LAST_YM:
            return []
        out = []
        for rec in self.amr.items(i, _as_of(as_of)):
            rec = dict(rec)
            rec["fine_yuan"] = Decimal(rec["fine_yuan"]) / 100
            out.append(rec)
        return out

    def amr_statistics(self, period, as_of=None):
        """The statistics document served at as_of (highest revision published), or None."""
        doc = self.stats.document_at(_period(period), _as_of(as_of))
        return None if doc is None else doc.to_json()

    def amr_statistics_revisions(self, period):
        """Every revision of a period's statistics document, oldest first."""
        return [d.to_json() for d in self.stats.documents().get(_period(period), [])]

    # ------------------------------------------------------------------ calendar
    def publication_events(self, until=None):
        """Every publication event of the range, sorted by instant, up to and including `until`
        (any `as_of` value; None = all). Each is a dict
        {"at": datetime +08:00, "source": ..., "period": "YYYY-MM", "kind": ...} with source one
        of court, customs, police, amr_cases, amr_statistics, finance and kind
          "first"    - a file's first publication, a statistics revision 1, or (court, amr_cases)
                       the month being over: 00:00 +08:00 of the next month's 1st (AMR months are
                       served only from then; court versions are visible as they happen and the
                       month is complete at its end);
          "reissue"  - a customs workbook re-issued under the same URL (new bytes, new ETag);
          "revision" - a statistics revision >= 2 (including the opt-in ytd_decrease fix).
        A server whose as_of is an event's instant serves what the event published; one second
        earlier it does not."""
        from ..timeutil import FIRST_YM, LAST_YM, month_start_dt, ym_str

        limit = None if until is None else _as_of(until)
        events = []

        def add(at, source, i, kind):
            if limit is None or at <= limit:
                events.append({"at": at.astimezone(TZ), "source": source, "period": ym_str(i), "kind": kind})

        docs = self.stats.documents()
        for i in range(FIRST_YM, LAST_YM + 1):
            for source in ("court", "amr_cases"):
                add(month_start_dt(i + 1), source, i, "first")
            for k, v in enumerate(self.customs.versions(i)):
                add(v.published_at, "customs", i, "first" if k == 0 else "reissue")
            add(self.police.published_at(i), "police", i, "first")
            add(self.finance.published_at(i), "finance", i, "first")
            for d in docs.get(i, []):
                add(d.published_at, "amr_statistics", i, "first" if d.revision == 1 else "revision")
        order = {s: n for n, s in enumerate(("court", "customs", "police", "amr_cases", "amr_statistics", "finance"))}
        events.sort(key=lambda e: (e["at"], order[e["source"]], e["period"], e["kind"] != "first"))
        return events


def _court_money(rec: dict) -> dict:
    for k in ("claim_amount", "award_amount"):
        if rec[k] is not None:
            rec[k] = Decimal(rec[k]) / 100
    return rec
