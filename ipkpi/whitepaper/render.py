"""Assemble the paper: data → figures, sentences, charts → HTML (Jinja2) → PDF (WeasyPrint)."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup, escape

from ipkpi.whitepaper import charts as charts_mod
from ipkpi.whitepaper.data import AT_MOST, CITY, DISTRICTS, SOURCE_NAMES, YearData, compress_months, load
from ipkpi.whitepaper.narrative import Figures, _q, fmt_value, growth_words, target_rows

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).with_name("templates")

HEADLINES = ["invention_patents_in_force", "high_value_patents_per_10k", "patent_grants_total", "trademarks_in_force",
             "copyright_registrations", "court_cases_received", "amr_patent_cases_closed", "police_cases_filed",
             "customs_seizure_batches", "ip_pledge_amount"]
SECTION_KPIS = {
    "creation": ["patent_grants_total", "patent_grants_invention", "invention_patents_in_force",
                 "high_value_patents_per_10k", "pct_applications", "trademarks_in_force",
                 "madrid_registrations_in_force", "well_known_trademarks", "geographical_indications",
                 "copyright_registrations", "standard_compliant_entities", "advantage_enterprises_national",
                 "patent_intensive_industry_va_share"],
    "court": ["court_cases_received", "court_cases_closed", "court_civil_claim_amount", "court_civil_acceptance_rate",
              "court_avg_trial_days", "court_punitive_damages_cases"],
    "amr": ["amr_patent_cases_closed", "amr_trademark_cases_closed", "amr_cases_closed", "amr_fines",
            "amr_closure_rate", "amr_avg_case_days", "amr_transfers_to_police"],
    "police": ["police_cases_filed", "police_cases_solved", "police_suspects", "police_amount_involved",
               "police_cases_from_admin"],
    "customs": ["customs_seizure_batches", "customs_seizure_items", "customs_seizure_value"],
    "social": ["mediation_cases_succeeded", "mediation_success_rate", "rights_assistance_cases",
               "patent_pre_examinations"],
    "use": ["ip_pledge_amount", "ip_pledge_registrations", "ip_pledge_enterprises", "ip_pledge_first_loans"],
}
DISTRICT_KPIS = ["invention_patents_in_force", "trademarks_in_force", "amr_cases_closed", "police_cases_filed",
                 "ip_pledge_amount", "court_cases_received"]


def default_out_dir() -> Path:
    return Path(os.environ.get("IPKPI_WHITEPAPER_DIR") or ROOT / "whitepaper")


def _scale(unit: str) -> tuple[float, str]:
    return (100_000_000, "亿元") if unit == "元" else (1, unit)


def kpi_table(data: YearData, figs: Figures, codes: list[str]) -> list[dict]:
    rows = []
    for code in codes:
        k = data.kpi(code)
        if k is None or k.value is None:
            continue
        rows.append({"name": figs.name(code), "code": code, "value": figs.value(code),
                     "prev": figs.value(code, data.year - 1) if data.kpi(code, data.year - 1) else "—",
                     "growth": figs.growth(code, short=True)})
    return rows


def series(data: YearData, code: str) -> dict[int, float]:
    return {int(p): float(k.value) for (c, p), k in data.city.items()
            if c == code and k.value is not None and int(p) <= data.year and k.is_complete}


def build(data: YearData, out: Path) -> dict:
    figs = Figures(data)
    ch = charts_mod.Charts(out / "charts")
    y = data.year
    f = figs
    three = [y - 2, y - 1, y] if all(data.kpi("court_cases_received", z) for z in (y - 2, y - 1, y)) else None

    def trend(code_list, name, title):
        unit = data.catalogue[code_list[0]]["unit"]
        scale, label = _scale(unit)
        return ch.trend(name, title, {figs.name(c): series(data, c) for c in code_list}, label, scale)

    def comp(code, dim, name, title):
        parts = data.breakdown.get((code, dim), {})
        if not parts:
            return None
        scale, label = _scale(data.catalogue[code]["unit"])
        return ch.composition(name, title, {k: float(v) for k, v in parts.items()}, label, scale)

    s = {}  # sentences per section
    s["overview"] = [
        Markup(f"{y}年，全市{f.stat('invention_patents_in_force', '有效发明专利拥有量达')}；"
               f"{f.stat('high_value_patents_per_10k', '每万人口高价值发明专利拥有量')}；"
               f"{f.stat('patent_grants_total', '专利授权')}。"),
        Markup(f"全市法院{f.stat('court_cases_received', '新收知识产权案件')}；市场监管部门"
               f"{f.stat('amr_patent_cases_closed', '全年查处专利假冒侵权案件')}；公安机关"
               f"{f.stat('police_cases_filed', '立案侦办知识产权刑事案件')}；海关"
               f"{f.stat('customs_seizure_batches', '查获侵权货物')}。"),
        Markup(f"{f.stat('ip_pledge_amount', '知识产权质押融资额')}，惠及企业{f.value('ip_pledge_enterprises')}。"),
    ]
    s["patents"] = [Markup(
        f"{f.stat('patent_grants_total', '全年专利授权')}，其中{f.stat('patent_grants_invention', '发明专利授权')}。"
        f"年末{f.stat('invention_patents_in_force', '有效发明专利拥有量')}，"
        f"{f.stat('high_value_patents_per_10k', '每万人口高价值发明专利拥有量')}；"
        f"{f.stat('pct_applications', 'PCT国际专利申请')}。"
        f"{f.stat('patent_intensive_industry_va_share', '专利密集型产业增加值占GDP比重')}。")]
    s["trademarks"] = [Markup(
        f"{f.stat('trademarks_in_force', '有效注册商标')}；{f.stat('madrid_registrations_in_force', '马德里商标国际注册')}；"
        f"{f.stat('well_known_trademarks', '驰名商标')}。")]
    s["copyright"] = [Markup(
        f"{f.stat('copyright_registrations', '作品著作权登记')}；{f.stat('geographical_indications', '地理标志')}。"
        f"{f.stat('standard_compliant_entities', '贯标企事业单位')}，{f.stat('advantage_enterprises_national', '国家知识产权优势企业')}。")]
    court = [Markup(f"全市法院{f.stat('court_cases_received', '新收知识产权案件')}，"
                    f"其中民事{f.member('court_cases_received', 'case_type', '民事')}、刑事"
                    f"{f.member('court_cases_received', 'case_type', '刑事')}、行政{f.member('court_cases_received', 'case_type', '行政')}；"
                    f"{f.stat('court_cases_closed', '审结')}。{f.stat('court_civil_claim_amount', '民事案件标的额')}；"
                    f"{f.stat('court_civil_acceptance_rate', '民事一审服判息诉率')}；{f.stat('court_avg_trial_days', '平均审理周期')}；"
                    f"{f.stat('court_punitive_damages_cases', '适用惩罚性赔偿案件')}。")]
    if three:
        court.append(Markup(
            f"{three[0]}—{three[-1]}年，全市法院累计新收知识产权案件{f.total('court_cases_received', three)}，其中民事"
            f"{f.total('court_cases_received', three, 'case_type', '民事')}（{f.share('court_cases_received', 'case_type', '民事', three)}）、"
            f"刑事{f.total('court_cases_received', three, 'case_type', '刑事')}（{f.share('court_cases_received', 'case_type', '刑事', three)}）、"
            f"行政{f.total('court_cases_received', three, 'case_type', '行政')}（{f.share('court_cases_received', 'case_type', '行政', three)}），"
            f"民事案件标的额累计{f.total('court_civil_claim_amount', three)}。"))
    s["court"] = court
    s["amr"] = [Markup(
        f"市场监管部门{f.stat('amr_patent_cases_closed', '全年查处专利假冒侵权案件')}，"
        f"{f.stat('amr_trademark_cases_closed', '查处商标假冒侵权案件')}；{f.stat('amr_cases_closed', '行政执法结案')}，"
        f"{f.stat('amr_fines', '罚没款')}；{f.stat('amr_closure_rate', '案件结案率')}，"
        f"{f.stat('amr_avg_case_days', '平均办理周期')}；{f.stat('amr_transfers_to_police', '移送公安机关案件')}。")]
    s["police"] = [Markup(
        f"公安机关{f.stat('police_cases_filed', '立案侦办侵犯知识产权犯罪案件')}，{f.stat('police_cases_solved', '破案')}，"
        f"{f.stat('police_suspects', '打处犯罪嫌疑人')}，{f.stat('police_amount_involved', '涉案金额')}；"
        f"其中{f.stat('police_cases_from_admin', '行政执法机关移送立案（行刑衔接）')}。")]
    customs = [Markup(
        f"宁波海关{f.stat('customs_seizure_batches', '查获侵权货物')}，{f.stat('customs_seizure_items', '查扣侵权货物')}，"
        f"{f.stat('customs_seizure_value', '案值')}。")]
    if three:
        customs.append(Markup(
            f"{three[0]}—{three[-1]}年累计查获侵权货物{f.total('customs_seizure_batches', three)}、"
            f"{f.total('customs_seizure_items', three)}，案值{f.total('customs_seizure_value', three)}。"))
    s["customs"] = customs
    s["social"] = [Markup(
        f"{f.stat('mediation_cases_succeeded', '知识产权纠纷调解成功')}，{f.stat('mediation_success_rate', '调解成功率')}；"
        f"{f.stat('rights_assistance_cases', '办理维权援助案件')}；{f.stat('patent_pre_examinations', '专利预审')}。")]
    s["use"] = [Markup(
        f"{f.stat('ip_pledge_amount', '全年知识产权质押融资额')}，{f.stat('ip_pledge_registrations', '质押登记')}，"
        f"{f.stat('ip_pledge_enterprises', '惠及企业')}，其中{f.stat('ip_pledge_first_loans', '首贷')}；"
        f"专利权质押融资{f.member('ip_pledge_amount', 'pledge_type', '专利权质押')}。")]

    tables = {k: kpi_table(data, figs, v) for k, v in SECTION_KPIS.items()}
    headline = kpi_table(data, figs, HEADLINES)

    c = {}
    c["creation"] = [trend(["invention_patents_in_force"], "trend_invention.png", "有效发明专利拥有量（件）"),
                     trend(["patent_grants_total", "patent_grants_invention"], "trend_grants.png", "专利授权量（件）"),
                     trend(["trademarks_in_force"], "trend_trademarks.png", "有效注册商标数（件）"),
                     trend(["copyright_registrations"], "trend_copyright.png", "作品著作权登记量（件）")]
    c["court"] = [trend(["court_cases_received", "court_cases_closed"], "trend_court.png", "法院知识产权案件（件）"),
                  comp("court_cases_received", "case_type", "comp_court_case_type.png", f"{y}年新收案件：按案件类型"),
                  comp("court_cases_received", "right_type", "comp_court_right_type.png", f"{y}年新收案件：按权利类型")]
    c["amr"] = [trend(["amr_patent_cases_closed", "amr_trademark_cases_closed"], "trend_amr.png", "行政执法查处案件（件）"),
                comp("amr_cases_closed", "category", "comp_amr_category.png", f"{y}年行政执法结案：按案件类别")]
    c["police"] = [trend(["police_cases_filed", "police_cases_solved"], "trend_police.png", "公安立案与破案（起）"),
                   comp("police_cases_filed", "offence", "comp_police_offence.png", f"{y}年公安立案：按罪名")]
    c["customs"] = [trend(["customs_seizure_batches"], "trend_customs.png", "海关查获侵权货物批次（批）"),
                    comp("customs_seizure_batches", "channel", "comp_customs_channel.png", f"{y}年海关查获批次：按渠道")]
    c["social"] = [trend(["mediation_cases_succeeded", "rights_assistance_cases", "patent_pre_examinations"],
                         "trend_social.png", "社会共治（件）")]
    c["use"] = [trend(["ip_pledge_amount"], "trend_pledge.png", "知识产权质押融资额（亿元）"),
                comp("ip_pledge_amount", "pledge_type", "comp_pledge_type.png", f"{y}年质押融资额：按质押类型（亿元）")]
    c = {k: [x for x in v if x] for k, v in c.items()}

    # 目标完成情况
    targets = target_rows(data, figs)
    target_sentences = []
    for t in targets:
        if t["kind"] == "本年目标":
            target_sentences.append(Markup(f"{escape(t['name'])}{t['value']}，目标{t['comparator']}{t['target']}，"
                                           f"完成率{t['attainment']}，{'完成' if t['met'] else '未完成'}目标。"))
    trajectories = []
    for (code, period), k in sorted(data.city.items()):
        if period != "2025" or k.target is None:
            continue
        hist = {int(p): v.value for (cc, p), v in data.city.items()
                if cc == code and v.value is not None and int(p) <= y and v.is_complete}
        if len(hist) < 2:
            continue
        at_most = code in AT_MOST
        p = charts_mod.project(hist, k.target, at_most, 2025)
        unit = k.unit
        scale, label = _scale(unit)
        img = ch.trajectory(f"trajectory_{code}.png", f"{figs.name(code)}：2025年目标轨迹",
                            {a: float(b) for a, b in hist.items()}, p["projected"], float(k.target), 2025, label, scale)
        rate = Decimal(str(p["rate_pct"]))
        word, mag = growth_words(rate)
        rate_txt = (f"年均{word}" + str(figs.span(code, f"{p['from_year']}-{p['last_year']}", "cagr", rate, mag))
                    if mag else "年均持平")
        if p["met_year"] is not None and p["met_year"] <= y:
            verdict = f"{p['met_year']}年已达到目标"
        elif p["met_by_target_year"]:
            verdict = f"按此增速，预计{p['met_year']}年达到目标，可如期完成"
        elif p["met_year"]:
            verdict = f"按此增速，预计{p['met_year']}年才能达到目标，2025年难以如期完成"
        else:
            verdict = "按此增速，2035年前无法达到目标"
        text = Markup(f"{escape(figs.name(code))}：2025年目标{'≤' if at_most else '≥'}"
                      f"{figs.span(code, '2025', 'target', k.target, fmt_value(k.target, unit))}，"
                      f"{y}年{figs.value(code)}；{p['from_year']}—{p['last_year']}年{Markup(rate_txt)}，{verdict}。")
        trajectories.append({"code": code, "img": img, "text": text})

    # 分区县
    district_rows = []
    for region, name in DISTRICTS.items():
        district_rows.append({"name": name, "code": region,
                              "cells": [f.value(code, region=region) for code in DISTRICT_KPIS]})
    district_charts = []
    for code, fname in [("invention_patents_in_force", "district_invention.png"),
                        ("amr_cases_closed", "district_amr.png"), ("ip_pledge_amount", "district_pledge.png")]:
        vals = {DISTRICTS[r]: float(k.value) for (cc, r), k in data.districts.items()
                if cc == code and r in DISTRICTS and k.value is not None}
        if vals:
            scale, label = _scale(data.catalogue[code]["unit"])
            district_charts.append(ch.districts(fname, f"{y}年各区县{figs.name(code)}", vals, label, scale))
    district_lead = []
    for code in ("invention_patents_in_force", "amr_cases_closed", "ip_pledge_amount"):
        vals = [(r, k) for (cc, r), k in data.districts.items() if cc == code and k.value is not None and r in DISTRICTS]
        if vals:
            r, k = max(vals, key=lambda rk: rk[1].value)
            district_lead.append(Markup(f"{escape(figs.name(code))}以{DISTRICTS[r]}最高（{f.value(code, region=r)}）"))

    # 附录
    sources = {}
    for source, period, ok, load_id in data.source_months:
        sources.setdefault(source, []).append((period, ok, load_id))
    source_rows = [{"source": s_, "name": SOURCE_NAMES.get(s_, s_),
                    "months": compress_months([p for p, ok, _ in v if ok]),
                    "loads": ", ".join(f"{p[5:]}:{lid}" for p, ok, lid in v if ok),
                    "payloads": sum(1 for p in data.payloads if p[0] == s_)} for s_, v in sorted(sources.items())]
    payload_rows = [{"source": s_, "period": p, "position": pos, "page": page, "bytes": size, "sha256": sha}
                    for s_, p, pos, page, size, sha in data.payloads]
    warnings = [{"check": w.get("check", ""), "suite": w.get("suite", ""),
                 "observed": (w.get("detail") or {}).get("observed"),
                 "rows": [r for r in (w.get("detail") or {}).get("rows", [])
                          if str(r.get("year", r.get("period", "")))[:4] in (str(y), "")][:12]
                 or (w.get("detail") or {}).get("rows", [])[:5]} for w in data.gate_warnings]
    return {"year": y, "pub": data.publication_id, "published_at": data.published_at, "s": s, "c": c,
            "tables": tables, "headline": headline, "targets": targets, "target_sentences": target_sentences,
            "trajectories": trajectories, "district_kpis": [figs.name(k) for k in DISTRICT_KPIS],
            "district_rows": district_rows, "district_charts": district_charts, "district_lead": district_lead,
            "catalogue": list(data.catalogue.values()), "sources": source_rows, "payloads": payload_rows, "warnings": warnings,
            "log": data.log, "figs": figs, "json": json}


def generate(year: int, out_dir: Path | None = None, dsn: str | None = None, pdf: bool = True) -> dict:
    """Write <out_dir>/<year>/whitepaper-<year>.html (+ charts/) and .pdf; return paths and timings."""
    import jinja2

    t0 = time.monotonic()
    data = load(year, dsn)
    out = (out_dir or default_out_dir()) / str(year)
    out.mkdir(parents=True, exist_ok=True)
    t1 = time.monotonic()
    ctx = build(data, out)
    t2 = time.monotonic()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("paper.html").render(**ctx, trace=ctx["figs"].trace)
    html_path = out / f"whitepaper-{year}.html"
    html_path.write_text(html, encoding="utf-8")
    (out / "figures.json").write_text(json.dumps(ctx["figs"].trace, ensure_ascii=False, indent=1), encoding="utf-8")
    t3 = time.monotonic()
    pdf_path = None
    if pdf:
        from weasyprint import HTML

        pdf_path = out / f"whitepaper-{year}.pdf"
        HTML(filename=str(html_path), base_url=str(out)).write_pdf(str(pdf_path))
    t4 = time.monotonic()
    return {"html": html_path, "pdf": pdf_path, "publication_id": data.publication_id, "figures": len(ctx["figs"].trace),
            "timings": {"read": t1 - t0, "charts_and_text": t2 - t1, "html": t3 - t2, "pdf": t4 - t3, "total": t4 - t0}}
