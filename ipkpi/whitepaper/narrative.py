"""Numbers as the paper prints them, and sentences whose wording follows the numbers.

Every printed figure goes through :class:`Figures`, which wraps it in
``<span class="fig" data-kpi=… data-period=… data-measure=… data-exact=… title="kpi · publication">``
and records it for the PDF's traceability appendix.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from ipkpi.whitepaper.data import CITY, YearData

COUNT_UNITS = {"件", "起", "人", "批", "笔", "家"}
# growth rates to two decimals, as the city's own reports print them (有效发明专利 同比增长27.77%)
GROWTH_PLACES = 2
# a change of a rate in percentage points, to the places the rates themselves are printed with
POINTS_PLACES = 1
# the unit of each measure a figure can be; a KPI's own unit for value, sum and target
MEASURE_UNITS = {"yoy": "%", "cagr": "%", "share": "%", "attainment": "%", "pp": "个百分点"}


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


def fmt_exact(value, unit: str) -> str:
    """A figure's value for the traceability appendix: finer than the text prints it, never a float's 16
    digits — counts whole, money in 元 to the fen, rates, percentages and other measures to 4 places."""
    v = Decimal(str(value))
    if unit in COUNT_UNITS and v == v.to_integral_value():
        return f"{int(v):,}{unit}"
    if unit == "元":
        return f"{_q(v, 2):,}元"
    return f"{_q(v, 4):,}{unit}"


# columns of the gate's offending rows that name something (a year, a load) rather than measure it
NAMING_COLUMNS = {"year", "period", "month", "load_id", "region_code", "source", "kpi_code", "grain", "dimension"}


def fmt_cell(column: str, value, unit: str | None = None) -> str:
    """A cell of the gate's offending rows (appendix 三): a KPI's value or previous value in the KPI's
    ``unit`` as the paper prints it; ``*_pct`` as a percentage and ``ratio`` to two places; other
    numbers as counts with thousands separators; names (years, load ids, codes) as they are."""
    if value is None:
        return "—"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, Decimal))
        or column in NAMING_COLUMNS
        or column.endswith(("_id", "_code"))
    ):
        return str(value)
    v = Decimal(str(value))
    if column in ("value", "prev_value") and unit:
        return fmt_value(v, unit)
    if column.endswith("_pct"):
        return f"{_q(v, 2)}%"
    if column == "ratio" or column.endswith("_ratio"):
        return f"{_q(v, 2)}"
    if v == v.to_integral_value():
        return f"{int(v):,}"
    return f"{_q(v, 2):,}"


def growth_words(pct, places: int = GROWTH_PLACES) -> tuple[str, str | None]:
    """('增长' | '下降' | '持平', the printed magnitude or None) from a growth rate in %."""
    if pct is None:
        return "", None
    g = _q(Decimal(pct), places)
    if g > 0:
        return "增长", f"{g}%"
    if g < 0:
        return "下降", f"{-g}%"
    return "持平", None


class Figures:
    """The paper's figures: each printed number wrapped in a traceable span and registered in ``trace``
    (written as figures.json and listed in appendix 四)."""

    def __init__(self, data: YearData):
        self.data = data
        self.trace: list[dict] = []

    def span(self, kpi: str, period: str, measure: str, exact, text: str, region: str = CITY) -> Markup:
        """``text`` as printed, tied to the unrounded ``exact`` and the unit it is in (a KPI's own unit for a
        value, sum or target; % for growth, shares and attainment; 个百分点 for a rate's change)."""
        pub = self.data.publication_id
        unit = MEASURE_UNITS.get(measure, "%" if measure.startswith("progress_") else None) or self.unit(
            kpi.split("[", 1)[0]
        )
        self.trace.append(
            {
                "kpi": kpi,
                "period": period,
                "region": region,
                "measure": measure,
                "exact": str(exact),
                "unit": unit,
                "text": text,
                "publication_id": pub,
            }
        )
        return Markup(
            f'<span class="fig" data-kpi="{escape(kpi)}" data-period="{escape(period)}" '
            f'data-region="{region}" data-measure="{measure}" data-exact="{escape(str(exact))}" '
            f'title="{escape(kpi)} · {escape(pub)}">{escape(text)}</span>'
        )

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
        """'同比增长47.08%' / '同比下降2.95%' / '与上年持平' (for % KPIs: change in percentage points)."""
        year = year or self.data.year
        k = self.data.kpi(code, year) if region == CITY else self.data.districts.get((code, region))
        if k is None or k.value is None or k.prev_value is None:
            return Markup("—" if short else "")
        if k.unit == "%":
            pp = Decimal(k.value) - Decimal(k.prev_value)
            word, mag = growth_words(pp, POINTS_PLACES)
            if mag is None:
                return Markup("持平" if short else "，与上年持平")
            mag = mag.rstrip("%") + "个百分点"
            sp = self.span(code, str(year), "pp", pp, mag, region)
            word = {"增长": "提高", "下降": "降低"}[word]
            return Markup(f"{word}{sp}" if short else f"，比上年{word}{sp}")
        if k.yoy_growth_pct is None:
            return Markup("—" if short else "")
        word, mag = growth_words(k.yoy_growth_pct)
        if mag is None:
            return Markup("持平" if short else "，与上年持平")
        sp = self.span(code, str(year), "yoy", k.yoy_growth_pct, mag, region)
        return Markup(f"{word}{sp}" if short else f"，同比{word}{sp}")

    def stat(self, code: str, lead: str | None = None) -> Markup:
        """'全年查处专利假冒侵权案件1,765件，同比增长47.08%'."""
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
        part = sum(
            Decimal(self.data.breakdown_years.get((code, dimension, str(y)), {}).get(member) or 0) for y in years
        )
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
        return self.span(
            f"{code}[{dimension}={member}]", str(self.data.year), "value", v, fmt_value(v, self.unit(code))
        )


def target_rows(data: YearData, figs: Figures) -> list[dict]:
    """Every target of the year (by KPI), then every plan target set for a later year (by year and KPI),
    with the year's value; comparators and plan years as `published.targets` states them."""
    rows = []
    for (code, period), k in sorted(data.city.items()):
        if period != str(data.year) or k.target_value is None:
            continue
        target = data.target(code)
        if target is None:
            raise LookupError(f"{code} {period} has a target value but published.targets has no target for it")
        rows.append(
            {
                "code": code,
                "name": figs.name(code),
                "target_year": period,
                "kind": "本年目标",
                "comparator": "≤" if target.at_most else "≥",
                "value": figs.value(code),
                "target": figs.span(code, period, "target", k.target_value, fmt_value(k.target_value, k.unit)),
                "attainment": figs.span(code, period, "attainment", k.attainment_pct, f"{_q(k.attainment_pct, 1)}%")
                if k.attainment_pct is not None
                else "—",
                "met": k.target_met,
                "status": "完成" if k.target_met else "未完成",
            }
        )
    for target in data.targets_ahead():
        code, period = target.kpi_code, str(target.target_year)
        this_year, current = data.target(code), data.kpi(code)
        if target.target_value is None or current is None or current.value is None:
            continue
        if this_year is not None and this_year.target_value == target.target_value:
            continue  # a standing norm already shown as this year's target
        v, t = Decimal(current.value), Decimal(target.target_value)
        progress = (t / v * 100) if target.at_most else (v / t * 100)
        met = v <= t if target.at_most else v >= t
        rows.append(
            {
                "code": code,
                "name": figs.name(code),
                "target_year": period,
                "kind": f"规划目标（{period}年）",
                "comparator": "≤" if target.at_most else "≥",
                "value": figs.value(code),
                "target": figs.span(code, period, "target", t, fmt_value(t, current.unit)),
                "attainment": figs.span(code, str(data.year), f"progress_{period}", progress, f"{_q(progress, 1)}%"),
                "met": met,
                "status": "已提前达到" if met else "进行中，尚未达到",
            }
        )
    return rows
