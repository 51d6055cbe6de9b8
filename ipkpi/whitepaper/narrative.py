"""Numbers as the paper prints them, and sentences whose wording follows the numbers.

Every printed figure goes through :class:`Figures`, which wraps it in
``<span class="fig" data-kpi=… data-period=… data-measure=… data-exact=… title="kpi · publication">``
and records it for the PDF's traceability appendix.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from ipkpi.whitepaper.data import AT_MOST, CITY, YearData

COUNT_UNITS = {"件", "起", "人", "批", "笔", "家"}


def _q(value: Decimal, places: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fmt_value(value, unit: str) -> str:
    """The printed form of a KPI value in its unit (money in 亿元/万元, rates to 0.1)."""
    v = Decimal(value)
    if unit == "元":
        if abs(v) >= 100_000_000:
            return f"{_q(v / 100_000_000, 2):,}亿元"
        return f"{_q(v / 10_000, 2):,}万元"
    if unit in COUNT_UNITS:
        if v == v.to_integral_value():
            if abs(v) >= 1_000_000:
                return f"{_q(v / 10_000, 2):,}万{unit}"
            return f"{int(v):,}{unit}"
        return f"{_q(v, 2):,}{unit}"
    if unit == "%":
        return f"{_q(v, 1)}%"
    if unit == "天":
        return f"{_q(v, 1)}天"
    if unit == "件/万人":
        return f"{_q(v, 2)}件"
    return f"{_q(v, 2):,}{unit}"


def growth_words(pct) -> tuple[str, str | None]:
    """('增长' | '下降' | '持平', the printed magnitude or None) from a growth rate in %."""
    if pct is None:
        return "", None
    g = _q(Decimal(pct), 1)
    if g > 0:
        return "增长", f"{g}%"
    if g < 0:
        return "下降", f"{-g}%"
    return "持平", None


class Figures:
    def __init__(self, data: YearData):
        self.data = data
        self.trace: list[dict] = []

    def span(self, kpi: str, period: str, measure: str, exact, text: str, region: str = CITY) -> Markup:
        pub = self.data.publication_id
        self.trace.append({"kpi": kpi, "period": period, "region": region, "measure": measure,
                           "exact": str(exact), "text": text, "publication_id": pub})
        return Markup(f'<span class="fig" data-kpi="{escape(kpi)}" data-period="{escape(period)}" '
                      f'data-region="{region}" data-measure="{measure}" data-exact="{escape(str(exact))}" '
                      f'title="{escape(kpi)} · {escape(pub)}">{escape(text)}</span>')

    def unit(self, code: str) -> str:
        return self.data.catalogue[code]["unit"]

    def name(self, code: str) -> str:
        return self.data.catalogue[code]["name_zh"]

    def value(self, code: str, year: int | None = None, region: str = CITY) -> Markup:
        year = year or self.data.year
        k = self.data.kpi(code, year) if region == CITY else self.data.districts.get((code, region))
        if k is None or k.value is None:
            return Markup("—")
        return self.span(code, str(year), "value", k.value, fmt_value(k.value, k.unit), region)

    def growth(self, code: str, year: int | None = None, region: str = CITY, short: bool = False) -> Markup:
        """'同比增长47.1%' / '同比下降3.0%' / '与上年持平' (for % KPIs: change in percentage points)."""
        year = year or self.data.year
        k = self.data.kpi(code, year) if region == CITY else self.data.districts.get((code, region))
        if k is None or k.value is None or k.prev_value is None:
            return Markup("—" if short else "")
        if k.unit == "%":
            pp = Decimal(k.value) - Decimal(k.prev_value)
            word, mag = growth_words(pp)
            if mag is None:
                return Markup("持平" if short else "，与上年持平")
            mag = mag.rstrip("%") + "个百分点"
            sp = self.span(code, str(year), "pp", pp, mag, region)
            word = {"增长": "提高", "下降": "降低"}[word]
            return Markup(f"{word}{sp}" if short else f"，比上年{word}{sp}")
        word, mag = growth_words(k.yoy)
        if k.yoy is None:
            return Markup("—" if short else "")
        if mag is None:
            return Markup("持平" if short else "，与上年持平")
        sp = self.span(code, str(year), "yoy", k.yoy, mag, region)
        return Markup(f"{word}{sp}" if short else f"，同比{word}{sp}")

    def stat(self, code: str, lead: str | None = None) -> Markup:
        """'全年查处专利假冒侵权案件1,765起，同比增长47.1%'."""
        lead = lead if lead is not None else self.name(code)
        if self.data.kpi(code) is None or self.data.kpi(code).value is None:
            return Markup(f"{escape(lead)}暂无数据")
        return Markup(f"{escape(lead)}{self.value(code)}{self.growth(code)}")

    def total(self, code: str, years: list[int], dimension: str | None = None, member: str | None = None) -> Markup:
        """A multi-year sum (e.g. 2018—2020年累计), from the yearly values (or a breakdown member)."""
        vals = []
        for y in years:
            if dimension:
                v = self.data.breakdown_years.get((code, dimension, str(y)), {}).get(member)
            else:
                k = self.data.kpi(code, y)
                v = None if k is None else k.value
            if v is None:
                return Markup("—")
            vals.append(Decimal(v))
        total = sum(vals)
        kpi = code if not dimension else f"{code}[{dimension}={member}]"
        return self.span(kpi, f"{years[0]}-{years[-1]}", "sum", total, fmt_value(total, self.unit(code)))

    def share(self, code: str, dimension: str, member: str, years: list[int] | None = None) -> Markup:
        years = years or [self.data.year]
        part = sum(Decimal(self.data.breakdown_years.get((code, dimension, str(y)), {}).get(member) or 0) for y in years)
        whole = sum(Decimal(self.data.kpi(code, y).value) for y in years)
        if not whole:
            return Markup("—")
        pct = part / whole * 100
        period = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
        return self.span(f"{code}[{dimension}={member}]", period, "share", pct, f"{_q(pct, 1)}%")

    def member(self, code: str, dimension: str, member: str) -> Markup:
        v = self.data.breakdown.get((code, dimension), {}).get(member)
        if v is None:
            return Markup("—")
        return self.span(f"{code}[{dimension}={member}]", str(self.data.year), "value", v,
                         fmt_value(v, self.unit(code)))


def target_rows(data: YearData, figs: Figures) -> list[dict]:
    """Every target of the year, and every plan-period target (2022, 2025) still ahead, with the year's value."""
    rows = []
    for (code, period), k in sorted(data.city.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if k.target is None:
            continue
        y = int(period)
        if y == data.year:
            met = k.met
            rows.append({"code": code, "name": figs.name(code), "target_year": period, "kind": "本年目标",
                         "comparator": "≤" if code in AT_MOST else "≥",
                         "value": figs.value(code), "target": figs.span(code, period, "target", k.target,
                                                                       fmt_value(k.target, k.unit)),
                         "attainment": figs.span(code, period, "attainment", k.attainment,
                                                 f"{_q(k.attainment, 1)}%") if k.attainment is not None else "—",
                         "met": met, "status": "完成" if met else "未完成"})
        elif y in (2022, 2025) and y > data.year:
            same = data.kpi(code)
            if same is not None and same.target is not None and Decimal(same.target) == Decimal(k.target):
                continue  # a standing norm (from_year_on) already shown as this year's target
            cur = data.kpi(code)
            if cur is None or cur.value is None:
                continue
            v, t = Decimal(cur.value), Decimal(k.target)
            att = (t / v * 100) if code in AT_MOST else (v / t * 100)
            met = v <= t if code in AT_MOST else v >= t
            rows.append({"code": code, "name": figs.name(code), "target_year": period, "kind": f"规划目标（{period}年）",
                         "comparator": "≤" if code in AT_MOST else "≥",
                         "value": figs.value(code),
                         "target": figs.span(code, period, "target", t, fmt_value(t, k.unit)),
                         "attainment": figs.span(code, str(data.year), f"progress_{period}", att, f"{_q(att, 1)}%"),
                         "met": met, "status": "已提前达到" if met else "进行中，尚未达到"})
    return rows
