"""Ningbo Customs IPR seizure workbooks (feed 2).

One workbook per month. Each month holds the planned number of valid batches (not 放行), with
the planned Σ 数量 and Σ 案值 exactly, plus ~1.5 % released (放行) rows. About 9 % of months are
re-issued more than 3 days and at most 12 months after first publication (common.reissue_time);
the first version then differs from the final one (a late row, a duplicate row, a row later released, a corrected quantity).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from ..rng import allocate, cum, rng_for, scale_to_total
from ..timeutil import FIRST_YM, LAST_YM, month_weights, pick_day, ym, ym_month, ym_year
from .common import LRU, publication_time, reissue_time
from .plan import CUSTOMS

SHEET = "查获明细"
HEADERS = [
    "序号",
    "查扣编号",
    "查获日期",
    "进出境",
    "渠道",
    "权利类型",
    "商品类别",
    "数量（件）",
    "案值（万元）",
    "专项行动",
    "处置状态",
]
UNIT_LINE = "填报单位：宁波海关　　计量单位：件、万元"

GOODS = [
    "服装",
    "鞋帽",
    "箱包",
    "电子产品",
    "汽车配件",
    "手表",
    "眼镜",
    "玩具",
    "化妆品",
    "五金工具",
    "手机及配件",
    "体育用品",
    "家用电器",
    "打火机",
    "文具",
    "标签及包装物",
    "饰品",
    "电池",
    "灯具",
    "轴承",
    "药品",
    "香烟",
]
GOODS_W = cum([16, 12, 10, 9, 8, 5, 4, 5, 3, 4, 6, 4, 3, 2, 2, 3, 2, 2, 2, 1, 0.5, 0.5])
CHANNELS = ["货运", "邮递", "快件", "旅检"]
CHANNEL_W = cum([70, 14, 13, 3])
RIGHTS = ["商标权", "专利权", "著作权", "奥林匹克标志", "其他"]
REISSUE_RATE = 0.09
RELEASE_RATE = 0.015


@dataclass
class CustomsVersion:
    published_at: datetime
    rows: list  # list of dicts, in sheet order (序号 is assigned when written)
    note: str  # why this version exists ("first", "reissue:<kind>")


class CustomsData:
    def __init__(self, ds):
        self.ds = ds
        self._months = LRU(48)
        self._books = LRU(64)
        self._years = LRU(16)

    # -------------------------------------------------------------- plan
    def _year_plan(self, year: int):
        def build():
            n, items, value = CUSTOMS[year]
            s = self.ds.scale
            n, items, value = n * s, items * s, value * s
            r = rng_for(self.ds.seed, "customs-year", year)
            w = month_weights(year)
            counts = allocate(n, w)
            noise = [c * (0.85 + 0.3 * r.random()) for c in counts]
            items_m = allocate(items, noise)
            noise2 = [c * (0.85 + 0.3 * r.random()) for c in counts]
            value_m = allocate(value, noise2)
            return counts, items_m, value_m

        return self._years.get(year, build)

    # -------------------------------------------------------------- records
    def _final_rows(self, i: int, r):
        year, month = ym_year(i), ym_month(i)
        counts, items_m, value_m = self._year_plan(year)
        n = counts[month - 1]
        n_rel = int(n * RELEASE_RATE + r.random())
        total = n + n_rel
        rel_pos = set(r.sample(range(total), n_rel)) if n_rel else set()
        days = sorted(pick_day(r, i) for _ in range(total))
        raw_items = [math.exp(r.gauss(0.0, 1.7)) for _ in range(total)]
        raw_value = [math.exp(r.gauss(0.0, 1.25)) * (0.6 + 0.4 * min(3.0, raw_items[k])) for k in range(total)]
        valid_idx = [k for k in range(total) if k not in rel_pos]
        v_items = scale_to_total([raw_items[k] for k in valid_idx], items_m[month - 1], min_each=1) if valid_idx else []
        v_value = (
            scale_to_total([raw_value[k] for k in valid_idx], value_m[month - 1], min_each=100) if valid_idx else []
        )
        items = [0] * total
        value = [0] * total
        for j, k in enumerate(valid_idx):
            items[k], value[k] = v_items[j], v_value[j]
        for k in rel_pos:
            items[k] = max(1, int(round(raw_items[k] * 6000)))
            value[k] = max(100, int(round(raw_value[k] * 30000)))
        rows = []
        seq = 0
        recent = i >= LAST_YM - 5
        for k in range(total):
            seq += 1 + (r.random() < 0.25) * r.randrange(1, 4)
            channel = r.choices(CHANNELS, cum_weights=CHANNEL_W)[0]
            u = r.random()
            right = (
                "商标权"
                if u < 0.91
                else "专利权"
                if u < 0.955
                else "著作权"
                if u < 0.982
                else ("奥林匹克标志" if (u < 0.990 or year in (2021, 2022)) else "其他")
            )
            if channel in ("邮递", "快件"):
                campaign = "蓝网" if r.random() < 0.55 else ("龙腾" if r.random() < 0.3 else "")
            else:
                campaign = "龙腾" if r.random() < 0.45 else ("净网" if r.random() < 0.06 else "")
            if k in rel_pos:
                status = "放行"
            else:
                status = "扣留" if r.random() < (0.35 if recent else 0.12) else "没收"
            rows.append(
                {
                    "查扣编号": f"NBHG{year:04d}{month:02d}{seq:06d}",
                    "查获日期": days[k],
                    "进出境": "出口" if r.random() < 0.86 else "进口",
                    "渠道": channel,
                    "权利类型": right,
                    "商品类别": r.choices(GOODS, cum_weights=GOODS_W)[0],
                    "数量（件）": items[k],
                    "案值_元": value[k],
                    "专项行动": campaign,
                    "处置状态": status,
                }
            )
        return rows, seq

    def versions(self, i: int) -> List[CustomsVersion]:
        if not FIRST_YM <= i <= LAST_YM:
            return []

        def build():
            seed = self.ds.seed
            r = rng_for(seed, "customs", self.ds.scale, i)
            rows, last_seq = self._final_rows(i, r)
            first_pub = publication_time(seed, "customs", i)
            rr = rng_for(seed, "customs-reissue", i)
            if rr.random() >= REISSUE_RATE or not rows:
                return [CustomsVersion(first_pub, rows, "first")]
            kinds = ["late_row", "duplicate", "released_later", "correction"]
            kind = kinds[rr.randrange(4)]
            first = [dict(x) for x in rows]
            released = [k for k, x in enumerate(rows) if x["处置状态"] == "放行"]
            valid = [k for k, x in enumerate(rows) if x["处置状态"] != "放行"]
            if kind == "released_later" and not released:
                kind = "correction"
            if kind == "late_row" and len(valid) > 1:
                del first[rr.choice(valid)]
            elif kind == "duplicate":
                k = rr.choice(valid or [0])
                dup = dict(rows[k])
                year, month = ym_year(i), ym_month(i)
                dup["查扣编号"] = f"NBHG{year:04d}{month:02d}{last_seq + 1 + rr.randrange(5):06d}"
                first.insert(k + 1, dup)
            elif kind == "released_later":
                first[rr.choice(released)]["处置状态"] = "扣留"
            else:
                kind = "correction"
                k = rr.choice(valid or [0])
                first[k]["数量（件）"] = first[k]["数量（件）"] * 10 + rr.randrange(1, 9)
                first[k]["案值_元"] = first[k]["案值_元"] + 100 * rr.randrange(1, 500)
            when = reissue_time(seed, "customs", i, first_pub, 1 + rr.randrange(12))
            return [CustomsVersion(first_pub, first, "first"), CustomsVersion(when, rows, "reissue:" + kind)]

        return self._months.get(i, build)

    def version_at(self, i: int, as_of: datetime) -> Optional[tuple]:
        """(index, version) of the workbook served at as_of, or None (404)."""
        found = None
        for k, v in enumerate(self.versions(i)):
            if v.published_at <= as_of:
                found = (k, v)
        return found

    # -------------------------------------------------------------- workbook
    def total_mismatch_month(self) -> Optional[int]:
        t = self.ds.traps.get("customs_total_mismatch")
        if not t:
            return None
        y, m = str(t).split("-")
        return ym(int(y), int(m))

    def workbook(self, i: int, k: int) -> bytes:
        def build():
            v = self.versions(i)[k]
            mismatch = self.total_mismatch_month() == i and k == len(self.versions(i)) - 1
            return build_workbook(i, v.rows, v.published_at, mismatch)

        return self._books.get((i, k), build)


def value_wan(value_yuan: int) -> float:
    return round(value_yuan / 10000.0, 4)


def build_workbook(i: int, rows, published_at: datetime, total_mismatch: bool = False) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    year, month = ym_year(i), ym_month(i)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.cell(row=1, column=1, value=f"宁波海关知识产权侵权嫌疑货物查扣明细（{year}年{month}月）")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.cell(row=2, column=1, value=UNIT_LINE)
    for c, h in enumerate(HEADERS, start=1):
        ws.cell(row=3, column=c, value=h).font = Font(bold=True)
    tot_items = 0
    tot_value = 0
    rnum = 4
    for n, x in enumerate(rows, start=1):
        vals = [
            n,
            x["查扣编号"],
            x["查获日期"],
            x["进出境"],
            x["渠道"],
            x["权利类型"],
            x["商品类别"],
            x["数量（件）"],
            value_wan(x["案值_元"]),
            x["专项行动"] or None,
            x["处置状态"],
        ]
        for c, v in enumerate(vals, start=1):
            cell = ws.cell(row=rnum, column=c, value=v)
            if c == 3:
                cell.number_format = "yyyy-mm-dd"
            elif c == 9:
                cell.number_format = "0.0000"
        tot_items += x["数量（件）"]
        tot_value += x["案值_元"]
        rnum += 1
    if total_mismatch:
        tot_items += 100
    ws.cell(row=rnum, column=1, value="合计")
    ws.cell(row=rnum, column=8, value=tot_items)
    c = ws.cell(row=rnum, column=9, value=value_wan(tot_value))
    c.number_format = "0.0000"
    for col, width in zip("ABCDEFGHIJK", (6, 20, 12, 8, 8, 12, 14, 12, 14, 10, 10)):
        ws.column_dimensions[col].width = width
    from ..timeutil import UTC

    stamp = published_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.creator = "宁波海关"
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_xlsx(buf.getvalue(), published_at)


_CORE_TS = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_xlsx(data: bytes, when: datetime) -> bytes:
    """Make the bytes depend only on the content: fixed core timestamps and zip entry times."""
    from ..timeutil import UTC

    ts = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_TS.sub(lambda m: m.group(1) + ts + m.group(3), body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, body)
    return out.getvalue()
