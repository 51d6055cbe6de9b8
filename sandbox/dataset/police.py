"""Police IPR-crime monthly exports (feed 3): GBK, CRLF, RFC-4180.

Generated for the whole range at once (a few thousand cases at scale 1). Cases filed per
month and Σ 涉案金额 per filing year follow the plan exactly; solved-in-year counts and Σ
打处人数 are held exactly where the seeds fix them (2019, 2020). Traps: ~1.2 % unknown region
codes; cases re-appear when solved, when their amount is revised on solving, or when more
suspects are dealt with later (the latest file wins, even if 打处人数 grew).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime, timedelta
from typing import Dict, List, Optional

from ingest.sources.police import LEAD_SOURCES, OFFENCES

from ..regions import CITY, DISTRICT_WEIGHTS, UNKNOWN_CODES
from ..rng import allocate, amounts_in_cents, cum, rng_for
from ..timeutil import (
    FIRST_YM,
    HORIZON_LAST_DAY,
    LAST_YM,
    month_end,
    month_weights,
    pick_day,
    pick_day_between,
    ym,
    ym_of,
)
from .common import LRU, publication_time
from .plan import POLICE_AMOUNT, POLICE_FILED, POLICE_SOLVED, POLICE_SUSPECTS

HEADERS = ["案件编号", "立案日期", "破案日期", "案由", "涉案金额（元）", "打处人数", "专项行动", "线索来源", "区县代码"]
# the 案由 and 线索来源 the export uses: the connector's declarations (the contract's lists, in its
# order); the weights are the sandbox's own, one per value in that order
OFFENCE_W = cum([34, 40, 10, 1, 8, 2.5, 4, 0.5])
SOURCES = LEAD_SOURCES
SOURCE_W = cum([44, 20, 21, 8, 7])
if len(OFFENCE_W) != len(OFFENCES) or len(SOURCE_W) != len(SOURCES):
    raise ValueError("the police generator needs a weight per declared offence and lead source")
_DIST = list(DISTRICT_WEIGHTS)
_DIST_W = cum(DISTRICT_WEIGHTS.values())
FIRST_GEN_YEAR = 2017
TRAP_RATE = 0.012
SMALL_BAD_ROWS = 3  # the police_small_bad_month trap's export


class PoliceData:
    def __init__(self, ds):
        self.ds = ds
        self._cases = None
        self._files = LRU(32)
        self._rows = LRU(32)
        import threading

        self._lock = threading.Lock()

    # ------------------------------------------------------------------ generation
    def cases(self) -> List[dict]:
        with self._lock:
            if self._cases is None:
                self._cases = self._generate()
            return self._cases

    def _generate(self) -> List[dict]:
        seed, s = self.ds.seed, self.ds.scale
        r = rng_for(seed, "police", s)
        cases = []
        for year in range(FIRST_GEN_YEAR, 2026):
            counts = allocate(POLICE_FILED[year] * s, month_weights(year))
            ycases = []
            for m, n in enumerate(counts, start=1):
                i = ym(year, m)
                n_trap = int(n * TRAP_RATE + r.random())
                for k in range(n + n_trap):
                    ycases.append({"ym": i, "filed": pick_day(r, i), "trap": k >= n})
            valid = [c for c in ycases if not c["trap"]]
            raws = [math.exp(r.gauss(0.0, 1.35)) for _ in valid]
            amounts = amounts_in_cents(r, raws, POLICE_AMOUNT[year] * s, min_yuan=5000)
            for c, a in zip(valid, amounts):
                c["amount"] = a
            for c in ycases:
                if c["trap"]:
                    c["amount"] = int(800000 * math.exp(r.gauss(0.0, 1.2))) * 100
                    c["region"] = r.choice(UNKNOWN_CODES)
                else:
                    c["region"] = CITY if r.random() < 0.24 else r.choices(_DIST, cum_weights=_DIST_W)[0]
                # solving: ~86 % solved, lag mostly weeks to months
                if r.random() < 0.86:
                    lag = int(-55 * math.log(1.0 - r.random())) + 3
                    c["solved"] = c["filed"] + timedelta(days=min(lag, 420))
                else:
                    c["solved"] = None
                c["offence"] = r.choices(OFFENCES, cum_weights=OFFENCE_W)[0]
                c["source"] = r.choices(SOURCES, cum_weights=SOURCE_W)[0]
                if year >= 2019 and r.random() < 0.3:
                    c["campaign"] = "昆仑"
                else:
                    c["campaign"] = "蓝剑" if r.random() < 0.62 else ""
            cases.extend(ycases)
        for c in cases:
            if c["solved"] is not None and c["solved"] > HORIZON_LAST_DAY:
                c["solved"] = None
        self._calibrate_solved(cases, r)
        self._assign_suspects(cases, r)
        self._versions(cases, r)
        # ids: A + region + yyyymm + sequence within (region, month)
        seqs: Dict[tuple, int] = {}
        for c in sorted(cases, key=lambda c: (c["filed"], c["region"])):
            key = (c["region"], c["ym"])
            seqs[key] = seqs.get(key, 0) + 1 + (1 if r.random() < 0.1 else 0)
            c["id"] = f"A{c['region']}{c['filed'].year:04d}{c['filed'].month:02d}{seqs[key]:04d}"
        cases.sort(key=lambda c: c["id"])
        # compact: (id, filed, offence, campaign, source, region, trap, ((date, solved, suspects, amount), ...))
        return [
            (
                c["id"],
                c["filed"],
                c["offence"],
                c["campaign"],
                c["source"],
                c["region"],
                c["trap"],
                tuple((d, st["solved"], st["suspects"], st["amount"]) for d, st in c["events"]),
            )
            for c in cases
        ]

    def _calibrate_solved(self, cases, r):
        s = self.ds.scale
        for year, target in sorted(POLICE_SOLVED.items()):
            target *= s
            valid = [c for c in cases if not c["trap"]]
            solved = [c for c in valid if c["solved"] is not None and c["solved"].year == year]
            r.shuffle(solved)
            while len(solved) > target:
                c = solved.pop()
                c["solved"] = None if c["filed"].year == year or r.random() < 0.5 else None
            if len(solved) < target:
                pool = [
                    c
                    for c in valid
                    if c["filed"].year == year
                    and c["filed"] <= date(year, 12, 28)
                    and (c["solved"] is None or c["solved"].year > year)
                ]
                r.shuffle(pool)
                for c in pool[: target - len(solved)]:
                    c["solved"] = pick_day_between(r, c["filed"] + timedelta(days=1), date(year, 12, 31))
                    solved.append(c)
            if len(solved) != target:
                raise RuntimeError(f"police calibration failed for {year}")

    def _assign_suspects(self, cases, r):
        s = self.ds.scale
        for c in cases:
            if c["solved"] is None:
                c["suspects"] = 0
            else:
                c["suspects"] = r.choices((1, 2, 3, 4, 5, 7), cum_weights=(65, 87, 95, 98, 99.5, 100))[0]
        for year, target in POLICE_SUSPECTS.items():
            target *= s
            solved = [c for c in cases if not c["trap"] and c["solved"] is not None and c["solved"].year == year]
            total = sum(c["suspects"] for c in solved)
            while total != target:
                c = solved[r.randrange(len(solved))]
                if total < target and c["suspects"] < 9:
                    c["suspects"] += 1
                    total += 1
                elif total > target and c["suspects"] > 1:
                    c["suspects"] -= 1
                    total -= 1

    def _versions(self, cases, r):
        """Each case's changes: (date, state). The last state is the case as it is at the end."""
        for c in cases:
            final = {"solved": c["solved"], "suspects": c["suspects"], "amount": c["amount"]}
            first = {"solved": None, "suspects": 0, "amount": c["amount"]}
            events = []
            if c["solved"] is not None and r.random() < 0.15:
                first["amount"] = int(c["amount"] * (0.5 + 0.4 * r.random())) // 100 * 100
            events.append((c["filed"], dict(first)))
            if c["solved"] is not None:
                grew = c["suspects"] >= 2 and r.random() < 0.12
                later = c["solved"] + timedelta(days=20 + r.randrange(130))
                if grew and later <= HORIZON_LAST_DAY:
                    mid = dict(final, suspects=c["suspects"] - 1 - (r.random() < 0.3 and c["suspects"] > 2))
                    events.append((c["solved"], mid))
                    events.append((later, dict(final)))
                else:
                    events.append((c["solved"], dict(final)))
            c["events"] = events

    # ------------------------------------------------------------------ files
    def published_at(self, i: int) -> Optional[datetime]:
        if not FIRST_YM <= i <= LAST_YM:
            return None
        return publication_time(self.ds.seed, "police", i)

    def file_cases(self, i: int) -> List[dict]:
        """The cases of month i's export in their state at the end of month i (logical values)."""

        def build():
            end = month_end(i)
            out = []
            for cid, filed, offence, campaign, source, region, trap, events in self.cases():
                if not any(ym_of(ev[0]) == i for ev in events):
                    continue
                state = None
                for ev in events:
                    if ev[0] <= end:
                        state = ev
                out.append(
                    {
                        "id": cid,
                        "filed": filed,
                        "solved": state[1],
                        "offence": offence,
                        "amount": state[3],
                        "suspects": state[2],
                        "campaign": campaign,
                        "source": source,
                        "region": region,
                    }
                )
            return out

        return self._rows.get(i, build)

    def file_rows(self, i: int) -> List[list]:
        """The export's rows as text fields, exactly as written (header excluded)."""
        r = rng_for(self.ds.seed, "police-format", i)
        rows = []
        for c in self.file_cases(i):
            rows.append(
                [
                    c["id"],
                    fmt_date(c["filed"], r),
                    fmt_date(c["solved"], r) if c["solved"] else "",
                    c["offence"],
                    fmt_amount(c["amount"], r),
                    str(c["suspects"]),
                    c["campaign"],
                    c["source"],
                    c["region"],
                ]
            )
        if self.small_bad_month() == i:
            # opt-in trap: a tiny export whose every row carries a region code the contract does not know
            rows = [row[:-1] + [UNKNOWN_CODES[k % len(UNKNOWN_CODES)]] for k, row in enumerate(rows[:SMALL_BAD_ROWS])]
        return rows

    def small_bad_month(self) -> Optional[int]:
        t = self.ds.traps.get("police_small_bad_month")
        if not t:
            return None
        y, m = str(t).split("-")
        return ym(int(y), int(m))

    def file_bytes(self, i: int) -> bytes:
        def build():
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            w.writerow(HEADERS)
            for row in self.file_rows(i):
                w.writerow(row)
            text = buf.getvalue()
            r = rng_for(self.ds.seed, "police-tail", i)
            if r.random() < 0.3:
                text += "\r\n" * (1 + r.randrange(2))
            return text.encode("gbk")

        return self._files.get(i, build)


def fmt_date(d: date, r) -> str:
    if r.random() < 0.22:
        return f"{d.year}/{d.month}/{d.day}"
    return d.isoformat()


def fmt_amount(cents: int, r) -> str:
    yuan, fen = divmod(cents, 100)
    sep = r.random() < 0.7
    whole = f"{yuan:,}" if sep else str(yuan)
    return whole if fen == 0 else f"{whole}.{fen:02d}"
