"""Assemble the paper: data → figures, sentences, charts → HTML (Jinja2) → PDF (WeasyPrint).

:class:`Paper` builds the template's context one section at a time, in the order the paper reads:
overview, the chapters' prose, tables and charts, targets and trajectories, districts, appendices.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup, escape

from ipkpi.whitepaper import charts as charts_mod
from ipkpi.whitepaper.data import SOURCE_NAMES, YearData, compress_months, load
from ipkpi.whitepaper.narrative import Figures, fmt_cell, fmt_exact, fmt_value, growth_words, target_rows

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).with_name("templates")

HEADLINES = [
    "invention_patents_in_force",
    "high_value_patents_per_10k",
    "patent_grants_total",
    "trademarks_in_force",
    "copyright_registrations",
    "court_cases_received",
    "amr_patent_cases_closed",
    "police_cases_filed",
    "customs_seizure_batches",
    "ip_pledge_amount",
]
SECTION_KPIS = {
    "creation": [
        "patent_grants_total",
        "patent_grants_invention",
        "invention_patents_in_force",
        "high_value_patents_per_10k",
        "pct_applications",
        "trademarks_in_force",
        "madrid_registrations_in_force",
        "well_known_trademarks",
        "geographical_indications",
        "copyright_registrations",
        "standard_compliant_entities",
        "advantage_enterprises_national",
        "patent_intensive_industry_va_share",
    ],
    "court": [
        "court_cases_received",
        "court_cases_closed",
        "court_civil_claim_amount",
        "court_civil_acceptance_rate",
        "court_avg_trial_days",
        "court_punitive_damages_cases",
    ],
    "amr": [
        "amr_patent_cases_closed",
        "amr_trademark_cases_closed",
        "amr_cases_closed",
        "amr_fines",
        "amr_closure_rate",
        "amr_avg_case_days",
        "amr_transfers_to_police",
    ],
    "police": [
        "police_cases_filed",
        "police_cases_solved",
        "police_suspects",
        "police_amount_involved",
        "police_cases_from_admin",
    ],
    "customs": ["customs_seizure_batches", "customs_seizure_items", "customs_seizure_value"],
    "social": [
        "mediation_cases_succeeded",
        "mediation_success_rate",
        "rights_assistance_cases",
        "patent_pre_examinations",
    ],
    "use": ["ip_pledge_amount", "ip_pledge_registrations", "ip_pledge_enterprises", "ip_pledge_first_loans"],
}


@dataclass(frozen=True)
class Trend:
    """A line chart of city values over the years up to the paper's."""

    kpis: list[str]
    file: str
    title: str


@dataclass(frozen=True)
class Composition:
    """A bar chart of the paper year's split of a KPI by one dimension; the title follows "<year>年"."""

    kpi: str
    dimension: str
    file: str
    title: str


CHAPTER_CHARTS = {
    "creation": [
        Trend(["invention_patents_in_force"], "trend_invention.png", "有效发明专利拥有量（件）"),
        Trend(["patent_grants_total", "patent_grants_invention"], "trend_grants.png", "专利授权量（件）"),
        Trend(["trademarks_in_force"], "trend_trademarks.png", "有效注册商标数（件）"),
        Trend(["copyright_registrations"], "trend_copyright.png", "作品著作权登记量（件）"),
    ],
    "court": [
        Trend(["court_cases_received", "court_cases_closed"], "trend_court.png", "法院知识产权案件（件）"),
        Composition("court_cases_received", "case_type", "comp_court_case_type.png", "新收案件：按案件类型"),
        Composition("court_cases_received", "right_type", "comp_court_right_type.png", "新收案件：按权利类型"),
    ],
    "amr": [
        Trend(["amr_patent_cases_closed", "amr_trademark_cases_closed"], "trend_amr.png", "行政执法查处案件（件）"),
        Composition("amr_cases_closed", "category", "comp_amr_category.png", "行政执法结案：按案件类别"),
    ],
    "police": [
        Trend(["police_cases_filed", "police_cases_solved"], "trend_police.png", "公安立案与破案（起）"),
        Composition("police_cases_filed", "offence", "comp_police_offence.png", "公安立案：按罪名"),
    ],
    "customs": [
        Trend(["customs_seizure_batches"], "trend_customs.png", "海关查获侵权货物批次（批）"),
        Composition("customs_seizure_batches", "channel", "comp_customs_channel.png", "海关查获批次：按渠道"),
    ],
    "social": [
        Trend(
            ["mediation_cases_succeeded", "rights_assistance_cases", "patent_pre_examinations"],
            "trend_social.png",
            "社会共治（件）",
        )
    ],
    "use": [
        Trend(["ip_pledge_amount"], "trend_pledge.png", "知识产权质押融资额（亿元）"),
        Composition("ip_pledge_amount", "pledge_type", "comp_pledge_type.png", "质押融资额：按质押类型（亿元）"),
    ],
}
DISTRICT_KPIS = [
    "invention_patents_in_force",
    "trademarks_in_force",
    "amr_cases_closed",
    "police_cases_filed",
    "ip_pledge_amount",
    "court_cases_received",
]
# the KPIs whose districts are charted and whose leading district the chapter names
DISTRICT_CHARTS = {
    "invention_patents_in_force": "district_invention.png",
    "amr_cases_closed": "district_amr.png",
    "ip_pledge_amount": "district_pledge.png",
}
# the gate's offending rows shown per warning: the paper year's, else the first few of any year
WARNING_ROWS, WARNING_ROWS_OTHER_YEARS = 12, 5


def default_out_dir() -> Path:
    return Path(os.environ.get("IPKPI_WHITEPAPER_DIR") or ROOT / "whitepaper")


def chart_scale(unit: str) -> tuple[float, str]:
    """Charts draw money in 亿元, everything else in its own unit."""
    return (100_000_000, "亿元") if unit == "元" else (1, unit)


# ipkpi.pipeline.vintages' reasons, as the appendix says them
REVISION_REASONS = {
    "reissued_file": "数据文件重新发布",
    "statistics_revision": "统计报表修订",
    "late_month": "迟到月份数据补入",
    "revoked_record": "记录撤销（追溯剔除）",
    "rollback": "发布回滚",
    "other": "其他（含加工规则变化）",
}


class Paper:
    """One year's paper being assembled: its data, the register of printed figures, the chart writer."""

    def __init__(self, data: YearData, out: Path):
        self.data = data
        self.year = data.year
        self.figs = Figures(data)
        self.charts = charts_mod.Charts(out / "charts")

    def context(self) -> dict:
        """Everything the template renders."""
        data = self.data
        context = {
            "year": self.year,
            "pub": data.publication_id,
            "published_at": data.publication.finished_at,
            "publication": data.publication,
            "s": self.chapter_sentences(),
            "tables": {chapter: self.kpi_table(codes) for chapter, codes in SECTION_KPIS.items()},
            "headline": self.kpi_table(HEADLINES),
            "c": self.chapter_charts(),
            **self.targets_section(),
            **self.districts_section(),
            **self.appendix(),
            "figs": self.figs,
        }
        # last: every figure the sections print is registered by now
        context["trace"] = self.trace_rows()
        return context

    # -- the chapters' prose ------------------------------------------------------------------------

    def cumulative_years(self) -> list[int] | None:
        """The three years to the paper's, for the 累计 sentences, if the court has all three."""
        years = [self.year - 2, self.year - 1, self.year]
        return years if all(self.data.kpi("court_cases_received", y) for y in years) else None

    def chapter_sentences(self) -> dict[str, list[Markup]]:
        return {
            "overview": self.overview(),
            "patents": self.patents(),
            "trademarks": self.trademarks(),
            "copyright": self.copyright(),
            "court": self.court(),
            "amr": self.amr(),
            "police": self.police(),
            "customs": self.customs(),
            "social": self.social(),
            "use": self.use(),
        }

    def overview(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{self.year}年，全市{f.stat('invention_patents_in_force', '有效发明专利拥有量达')}；"
                f"{f.stat('high_value_patents_per_10k', '每万人口高价值发明专利拥有量')}；"
                f"{f.stat('patent_grants_total', '专利授权')}。"
            ),
            Markup(
                f"全市法院{f.stat('court_cases_received', '新收知识产权案件')}；市场监管部门"
                f"{f.stat('amr_patent_cases_closed', '全年查处专利假冒侵权案件')}；公安机关"
                f"{f.stat('police_cases_filed', '立案侦办知识产权刑事案件')}；海关"
                f"{f.stat('customs_seizure_batches', '查获侵权货物')}。"
            ),
            Markup(f"{f.stat('ip_pledge_amount', '知识产权质押融资额')}，惠及企业{f.value('ip_pledge_enterprises')}。"),
        ]

    def patents(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{f.stat('patent_grants_total', '全年专利授权')}，其中{f.stat('patent_grants_invention', '发明专利授权')}。"
                f"年末{f.stat('invention_patents_in_force', '有效发明专利拥有量')}，"
                f"{f.stat('high_value_patents_per_10k', '每万人口高价值发明专利拥有量')}；"
                f"{f.stat('pct_applications', 'PCT国际专利申请')}。"
                f"{f.stat('patent_intensive_industry_va_share', '专利密集型产业增加值占GDP比重')}。"
            )
        ]

    def trademarks(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{f.stat('trademarks_in_force', '有效注册商标')}；{f.stat('madrid_registrations_in_force', '马德里商标国际注册')}；"
                f"{f.stat('well_known_trademarks', '驰名商标')}。"
            )
        ]

    def copyright(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{f.stat('copyright_registrations', '作品著作权登记')}；{f.stat('geographical_indications', '地理标志')}。"
                f"{f.stat('standard_compliant_entities', '贯标企事业单位')}，"
                f"{f.stat('advantage_enterprises_national', '国家知识产权优势企业')}。"
            )
        ]

    def court(self) -> list[Markup]:
        f, received = self.figs, "court_cases_received"
        sentences = [
            Markup(
                f"全市法院{f.stat(received, '新收知识产权案件')}，"
                f"其中民事{f.member(received, 'case_type', '民事')}、刑事{f.member(received, 'case_type', '刑事')}、"
                f"行政{f.member(received, 'case_type', '行政')}；"
                f"{f.stat('court_cases_closed', '审结')}。{f.stat('court_civil_claim_amount', '民事案件标的额')}；"
                f"{f.stat('court_civil_acceptance_rate', '民事一审服判息诉率')}；{f.stat('court_avg_trial_days', '平均审理周期')}；"
                f"{f.stat('court_punitive_damages_cases', '适用惩罚性赔偿案件')}。"
            )
        ]
        years = self.cumulative_years()
        if years:
            by_type = "、".join(
                f"{case_type}{f.total(received, years, 'case_type', case_type)}"
                f"（{f.share(received, 'case_type', case_type, years)}）"
                for case_type in ("民事", "刑事", "行政")
            )
            sentences.append(
                Markup(
                    f"{years[0]}—{years[-1]}年，全市法院累计新收知识产权案件{f.total(received, years)}，其中{by_type}，"
                    f"民事案件标的额累计{f.total('court_civil_claim_amount', years)}。"
                )
            )
        return sentences

    def amr(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"市场监管部门{f.stat('amr_patent_cases_closed', '全年查处专利假冒侵权案件')}，"
                f"{f.stat('amr_trademark_cases_closed', '查处商标假冒侵权案件')}；{f.stat('amr_cases_closed', '行政执法结案')}，"
                f"{f.stat('amr_fines', '罚没款')}；{f.stat('amr_closure_rate', '案件结案率')}，"
                f"{f.stat('amr_avg_case_days', '平均办理周期')}；{f.stat('amr_transfers_to_police', '移送公安机关案件')}。"
            )
        ]

    def police(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"公安机关{f.stat('police_cases_filed', '立案侦办侵犯知识产权犯罪案件')}，{f.stat('police_cases_solved', '破案')}，"
                f"{f.stat('police_suspects', '打处犯罪嫌疑人')}，{f.stat('police_amount_involved', '涉案金额')}；"
                f"其中{f.stat('police_cases_from_admin', '行政执法机关移送立案（行刑衔接）')}。"
            )
        ]

    def customs(self) -> list[Markup]:
        f = self.figs
        sentences = [
            Markup(
                f"宁波海关{f.stat('customs_seizure_batches', '查获侵权货物')}，{f.stat('customs_seizure_items', '查扣侵权货物')}，"
                f"{f.stat('customs_seizure_value', '案值')}。"
            )
        ]
        years = self.cumulative_years()
        if years:
            sentences.append(
                Markup(
                    f"{years[0]}—{years[-1]}年累计查获侵权货物{f.total('customs_seizure_batches', years)}、"
                    f"{f.total('customs_seizure_items', years)}，案值{f.total('customs_seizure_value', years)}。"
                )
            )
        return sentences

    def social(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{f.stat('mediation_cases_succeeded', '知识产权纠纷调解成功')}，{f.stat('mediation_success_rate', '调解成功率')}；"
                f"{f.stat('rights_assistance_cases', '办理维权援助案件')}；{f.stat('patent_pre_examinations', '专利预审')}。"
            )
        ]

    def use(self) -> list[Markup]:
        f = self.figs
        return [
            Markup(
                f"{f.stat('ip_pledge_amount', '全年知识产权质押融资额')}，{f.stat('ip_pledge_registrations', '质押登记')}，"
                f"{f.stat('ip_pledge_enterprises', '惠及企业')}，其中{f.stat('ip_pledge_first_loans', '首贷')}；"
                f"专利权质押融资{f.member('ip_pledge_amount', 'pledge_type', '专利权质押')}。"
            )
        ]

    # -- the chapters' tables and charts ------------------------------------------------------------

    def kpi_table(self, codes: list[str]) -> list[dict]:
        """One row per KPI with a value this year: value, last year's, 同比."""
        data, figs = self.data, self.figs
        rows = []
        for code in codes:
            kpi = data.kpi(code)
            if kpi is None or kpi.value is None:
                continue
            rows.append(
                {
                    "name": figs.name(code),
                    "code": code,
                    "value": figs.value(code),
                    "prev": figs.value(code, self.year - 1) if data.kpi(code, self.year - 1) else "—",
                    "growth": figs.growth(code, short=True),
                }
            )
        return rows

    def history(self, code: str) -> dict[int, Decimal]:
        """The city's complete yearly values of ``code`` up to the paper's year."""
        return {
            int(period): k.value
            for (c, period), k in self.data.city.items()
            if c == code and k.value is not None and int(period) <= self.year and k.is_complete
        }

    def chart(self, spec: Trend | Composition) -> str | None:
        catalogue = self.data.catalogue
        if isinstance(spec, Trend):
            scale, label = chart_scale(catalogue[spec.kpis[0]]["unit"])
            series = {self.figs.name(c): {year: float(v) for year, v in self.history(c).items()} for c in spec.kpis}
            return self.charts.trend(spec.file, spec.title, series, label, scale)
        parts = self.data.breakdown.get((spec.kpi, spec.dimension), {})
        if not parts:
            return None
        scale, label = chart_scale(catalogue[spec.kpi]["unit"])
        return self.charts.composition(
            spec.file, f"{self.year}年{spec.title}", {member: float(v) for member, v in parts.items()}, label, scale
        )

    def chapter_charts(self) -> dict[str, list[str]]:
        drawn = {chapter: [self.chart(spec) for spec in specs] for chapter, specs in CHAPTER_CHARTS.items()}
        return {chapter: [img for img in images if img] for chapter, images in drawn.items()}

    # -- 五、目标完成情况 ----------------------------------------------------------------------------

    def targets_section(self) -> dict:
        targets = target_rows(self.data, self.figs)
        sentences = [
            Markup(
                f"{escape(t['name'])}{t['value']}，目标{t['comparator']}{t['target']}，"
                f"完成率{t['attainment']}，{'完成' if t['met'] else '未完成'}目标。"
            )
            for t in targets
            if t["kind"] == "本年目标"
        ]
        plan_year = self.data.plan_year
        trajectories = []
        if plan_year is not None:
            for code in sorted({t.kpi_code for t in self.data.targets if t.applies_to(plan_year)}):
                trajectory = self.trajectory(code, plan_year)
                if trajectory:
                    trajectories.append(trajectory)
        return {"targets": targets, "target_sentences": sentences, "plan_year": plan_year, "trajectories": trajectories}

    def trajectory(self, code: str, plan_year: int) -> dict | None:
        """Where the recent growth rate takes ``code`` by the plan year, against the plan's target."""
        target = self.data.target(code, plan_year)
        history = self.history(code)
        if target is None or target.target_value is None or len(history) < 2:
            return None
        figs, unit = self.figs, self.data.catalogue[code]["unit"]
        projection = charts_mod.project(history, target.target_value, target.at_most, plan_year)
        scale, label = chart_scale(unit)
        img = self.charts.trajectory(
            f"trajectory_{code}.png",
            f"{figs.name(code)}：{plan_year}年目标轨迹",
            {year: float(v) for year, v in history.items()},
            projection["projected"],
            float(target.target_value),
            plan_year,
            label,
            scale,
        )
        first, last = projection["from_year"], projection["last_year"]
        rate = Decimal(str(projection["rate_pct"]))
        word, magnitude = growth_words(rate)
        rate_text = (
            Markup(f"年均{word}") + figs.span(code, f"{first}-{last}", "cagr", rate, magnitude)
            if magnitude
            else "年均持平"
        )
        met_year = projection["met_year"]
        if met_year is not None and met_year <= self.year:
            verdict = f"{met_year}年已达到目标"
        elif projection["met_by_target_year"]:
            verdict = f"按此增速，预计{met_year}年达到目标，可如期完成"
        elif met_year:
            verdict = f"按此增速，预计{met_year}年才能达到目标，{plan_year}年难以如期完成"
        else:
            verdict = f"按此增速，{charts_mod.HORIZON}年前无法达到目标"
        shown_target = figs.span(
            code, str(plan_year), "target", target.target_value, fmt_value(target.target_value, unit)
        )
        text = Markup(
            f"{escape(figs.name(code))}：{plan_year}年目标{'≤' if target.at_most else '≥'}{shown_target}，"
            f"{self.year}年{figs.value(code)}；{first}—{last}年{rate_text}，{verdict}。"
        )
        return {"code": code, "img": img, "text": text}

    # -- 六、分区县情况 ------------------------------------------------------------------------------

    def districts_section(self) -> dict:
        data, figs = self.data, self.figs
        names = data.district_names
        rows = [
            {"name": name, "code": region, "cells": [figs.value(code, region=region) for code in DISTRICT_KPIS]}
            for region, name in names.items()
        ]
        charts, lead = [], []
        for code, file in DISTRICT_CHARTS.items():
            values = {
                region: k
                for (c, region), k in data.districts.items()
                if c == code and region in names and k.value is not None
            }
            if not values:
                continue
            scale, label = chart_scale(data.catalogue[code]["unit"])
            charts.append(
                self.charts.districts(
                    file,
                    f"{self.year}年各区县{figs.name(code)}",
                    {names[r]: float(k.value) for r, k in values.items()},
                    label,
                    scale,
                )
            )
            first = max(values, key=lambda region: values[region].value)
            lead.append(Markup(f"{escape(figs.name(code))}以{names[first]}最高（{figs.value(code, region=first)}）"))
        return {
            "district_kpis": [figs.name(k) for k in DISTRICT_KPIS],
            "district_rows": rows,
            "district_charts": charts,
            "district_lead": lead,
        }

    # -- 附录 --------------------------------------------------------------------------------------

    def appendix(self) -> dict:
        return {
            "catalogue": list(self.data.catalogue.values()),
            "sources": self.source_rows(),
            "payloads": self.payload_rows(),
            "warnings": self.warnings(),
            "revisions": self.revision_rows(),
        }

    def revision_rows(self) -> list[dict]:
        """附录五 数据修订说明: each figure of the paper's years that changed since the last paper was
        generated (from an earlier vintage), with old value, new value and the reason traced to raw."""
        rows = []
        for change in self.data.revisions:
            unit = self.data.catalogue.get(change.kpi_code, {}).get("unit", "")
            rows.append(
                {
                    "name": self.figs.name(change.kpi_code),
                    "kpi": change.kpi_code,
                    "year": change.period,
                    "old": "—" if change.old_value is None else fmt_exact(change.old_value, unit),
                    "new": "—" if change.new_value is None else fmt_exact(change.new_value, unit),
                    "reason": REVISION_REASONS.get(change.reason, change.reason),
                    "source": SOURCE_NAMES.get(change.source, change.source or ""),
                    "detail": change.reason_detail,
                    "sha256": change.payload_sha256 or "",
                }
            )
        return rows

    def source_rows(self) -> list[dict]:
        """附录二: per source, the months of the year published, their loads and payload counts."""
        months: dict[str, list] = {}
        for m in self.data.source_months:
            months.setdefault(m.source, []).append(m)
        return [
            {
                "source": source,
                "name": SOURCE_NAMES.get(source, source),
                "months": compress_months([m.period for m in held if m.is_available]),
                "loads": ", ".join(f"{m.period[5:]}:{m.load_id}" for m in held if m.is_available),
                "payloads": sum(1 for p in self.data.payloads if p.source == source),
            }
            for source, held in sorted(months.items())
        ]

    def payload_rows(self) -> list[dict]:
        """附录二's checksums, one row per source month: the payload's own SHA-256 when the month is one file
        or report, else the page count and the SHA-256 of its pages' checksums in page order (one hex line
        each) — at national scale a paged month is hundreds of pages, thousands of rows a year the PDF
        need not print. Every page's checksum is in ``payloads-<year>.csv`` beside the paper."""
        months: dict[tuple[str, str], list] = {}
        for p in sorted(self.data.payloads, key=lambda p: (p.source, p.period, p.payload_position)):
            months.setdefault((p.source, p.period), []).append(p)
        return [
            {
                "source": source,
                "period": period,
                "count": len(pages),
                "bytes": f"{sum(p.payload_bytes or 0 for p in pages):,}",
                "sha256": pages[0].payload_sha256 if len(pages) == 1 else pages_digest(pages),
                "is_digest": len(pages) > 1,
            }
            for (source, period), pages in months.items()
        ]

    def warnings(self) -> list[dict]:
        """附录三: the gate's warnings, with their offending rows of the paper's year, formatted by unit."""
        out = []
        for warning in self.data.publication.gate_warnings:
            detail = warning.get("detail") or {}
            rows = [
                r for r in detail.get("rows", []) if str(r.get("year", r.get("period", "")))[:4] in (str(self.year), "")
            ][:WARNING_ROWS] or detail.get("rows", [])[:WARNING_ROWS_OTHER_YEARS]
            out.append(
                {
                    "check": warning.get("check", ""),
                    "suite": warning.get("suite", ""),
                    "observed": fmt_cell("observed", detail.get("observed")),
                    "columns": list(rows[0]) if rows else [],
                    "rows": [self.warning_cells(row) for row in rows],
                }
            )
        return out

    def warning_cells(self, row: dict) -> list[str]:
        unit = self.data.catalogue.get(row.get("kpi_code"), {}).get("unit")
        return [fmt_cell(column, value, unit) for column, value in row.items()]

    def trace_rows(self) -> list[dict]:
        """附录四: every printed figure with its value, finer than printed, in its unit."""
        return [{**t, "exact_text": fmt_exact(t["exact"], t["unit"])} for t in self.figs.trace]


def write_payloads_csv(path: Path, payloads) -> None:
    """Every payload's checksum behind the year, beside the paper (附录二 prints one per source month)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "period", "position", "page", "bytes", "sha256"])
        writer.writerows(
            (
                p.source,
                p.period,
                p.payload_position,
                "" if p.page is None else p.page,
                "" if p.payload_bytes is None else p.payload_bytes,
                p.payload_sha256,
            )
            for p in payloads
        )


def pages_digest(pages) -> str:
    """SHA-256 of a month's page checksums in page order, one lowercase hex line each (``\\n`` after each)."""
    return hashlib.sha256("".join(f"{p.payload_sha256}\n" for p in pages).encode()).hexdigest()


def build(data: YearData, out: Path) -> dict:
    return Paper(data, out).context()


def already_written(year: int, out_dir: Path | None = None, dsn: str | None = None) -> str | None:
    """The current publication's id if the year's paper in ``out_dir`` was written from it, else None."""
    from ipkpi import mart

    trace = (out_dir or default_out_dir()) / str(year) / "figures.json"
    if not trace.exists():
        return None
    with mart.connect(dsn) as conn:
        current = mart.current_publication(conn)
    written = {figure["publication_id"] for figure in json.loads(trace.read_text(encoding="utf-8"))}
    return current.publication_id if current and written == {current.publication_id} else None


def generate(
    year: int,
    out_dir: Path | None = None,
    dsn: str | None = None,
    pdf: bool = True,
    publication_id: str | None = None,
    record: bool = False,
) -> dict:
    """Write <out_dir>/<year>/whitepaper-<year>.html (+ charts/) and .pdf from ``publication_id`` (default:
    the current publication); return paths and timings. ``record``: the generation is recorded with its
    vintage (`vintage.whitepapers`, by the pipeline's login): retention keeps that vintage, and the next
    paper's 数据修订说明 starts from it."""
    import jinja2

    t0 = time.monotonic()
    data = load(year, dsn, publication_id)
    out = (out_dir or default_out_dir()) / str(year)
    out.mkdir(parents=True, exist_ok=True)
    t1 = time.monotonic()
    ctx = build(data, out)
    t2 = time.monotonic()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("paper.html").render(**ctx)
    html_path = out / f"whitepaper-{year}.html"
    html_path.write_text(html, encoding="utf-8")
    figures = json.dumps(ctx["figs"].trace, ensure_ascii=False, indent=1)
    (out / "figures.json").write_text(figures, encoding="utf-8")
    write_payloads_csv(out / f"payloads-{year}.csv", data.payloads)
    if record:
        from ipkpi.pipeline.vintages import record_whitepaper
        from ipkpi.platform.config import Settings

        record_whitepaper(
            Settings.from_env().runtime_dsn, year, data.publication_id, hashlib.sha256(figures.encode()).hexdigest()
        )
    t3 = time.monotonic()
    pdf_path = None
    if pdf:
        from weasyprint import HTML

        pdf_path = out / f"whitepaper-{year}.pdf"
        HTML(filename=str(html_path), base_url=str(out)).write_pdf(str(pdf_path))
    t4 = time.monotonic()
    return {
        "html": html_path,
        "pdf": pdf_path,
        "publication_id": data.publication_id,
        "figures": len(ctx["figs"].trace),
        "timings": {"read": t1 - t0, "charts_and_text": t2 - t1, "html": t3 - t2, "pdf": t4 - t3, "total": t4 - t0},
    }
