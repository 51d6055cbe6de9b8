"""The annual white paper: Chinese HTML + PDF from `published` only, stating the seeds' published
actuals, every printed number traceable to the mart, no missing glyphs, incomplete years refused.

One module warehouse (database ``ipkpi_wp`` in the session cluster): the default sandbox dataset
2018-01 … 2025-12, except the finance feed's 2025-12 (so 2025 is a year with a hole), published once
without Airflow; the 2020 paper is generated once through the command line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest

from ingest.registry import SOURCES
from tests.conftest import ipkpi
from tests.test_publication import ingest, publish_once

MONTHS = [f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13)]
HEADINGS = [
    "一、概述",
    "二、知识产权创造",
    "三、知识产权保护",
    "（一）司法保护",
    "（二）行政保护",
    "（三）刑事保护",
    "（四）海关保护",
    "（五）社会共治",
    "四、知识产权运用",
    "五、目标完成情况",
    "六、分区县情况",
    "附录",
]
# the seeds README's published actuals for 2020 (and 2018–2020 sums), as the paper prints them
SEED_ACTUALS_2020 = [
    "新收知识产权案件5,054件",
    "民事4,092件",
    "刑事409件",
    "行政553件",
    "标的额累计13.30亿元",
    "查处专利假冒侵权案件1,765件",
    "查处商标假冒侵权案件454件",
    "罚没款1,358.16万元",
    "立案侦办侵犯知识产权犯罪案件217起",
    "破案191起",
    "打处犯罪嫌疑人279人",
    "涉案金额5.13亿元",
    "累计查获侵权货物1,774批",
    "5,231.10万件",
    "案值1.80亿元",
    "专利授权60,575件，同比增长35.28%",
    "有效发明专利拥有量30,551件，同比增长27.77%",
    "PCT国际专利申请677件，同比增长89.11%",
    "有效注册商标321,457件，同比增长47.03%",
    "马德里商标国际注册1,166件，同比增长10.10%",
    "地理标志55件，同比增长14.58%",
    "驰名商标99件，同比增长10.00%",
    "作品著作权登记5,348件，同比增长55.01%",
    "贯标企事业单位502家",
    "知识产权质押融资额64.17亿元",
]


@pytest.fixture(scope="module")
def wp_dsn(settings, warehouse, sandbox, sandbox_credentials):
    from ipkpi.pipeline.warehouse import init_warehouse

    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi_wp WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi_wp OWNER ipkpi_owner")
    dsn = settings.embedded_dsn("ipkpi_wp", "ipkpi_owner")
    init_warehouse(dsn, settings)
    previous = os.environ.get("IPKPI_WAREHOUSE_DSN")
    os.environ["IPKPI_WAREHOUSE_DSN"] = dsn
    ingest(dsn, sandbox, sandbox_credentials, months=MONTHS, sources=[s for s in SOURCES if s != "finance"])
    ingest(dsn, sandbox, sandbox_credentials, months=MONTHS[:-1], sources=["finance"])
    publish_once()
    yield dsn
    if previous is None:
        os.environ.pop("IPKPI_WAREHOUSE_DSN", None)
    else:
        os.environ["IPKPI_WAREHOUSE_DSN"] = previous


@pytest.fixture(scope="module")
def bi_dsn(wp_dsn, settings):
    from ipkpi.pipeline.warehouse import bi_reader_dsn
    from ipkpi.platform.config import Settings

    return bi_reader_dsn(Settings.from_env())


@pytest.fixture(scope="module")
def paper(wp_dsn, tmp_path_factory):
    out = tmp_path_factory.mktemp("whitepaper")
    result = ipkpi("whitepaper", "--year", "2020", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    folder = out / "2020"
    html = (folder / "whitepaper-2020.html").read_text(encoding="utf-8")
    pdf = folder / "whitepaper-2020.pdf"
    pdf_text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return {"dir": folder, "html": html, "pdf": pdf, "pdf_text": pdf_text, "stdout": result.stdout}


class Spans(HTMLParser):
    """The text of the body (figure spans marked) and every figure span with its data attributes."""

    def __init__(self):
        super().__init__()
        self.figs, self.stack, self.body_outside = [], [], []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("style", "title"):
            self.skip += 1
        if tag == "span" and attrs.get("class") == "fig":
            self.stack.append({**attrs, "text": ""})

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self.skip -= 1
        if tag == "span" and self.stack:
            self.figs.append(self.stack.pop())

    def handle_data(self, data):
        if self.stack:
            self.stack[-1]["text"] += data
        elif not self.skip:
            self.body_outside.append(data)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def parse_number(text: str) -> tuple[Decimal, Decimal]:
    """'1,358.16万元' -> (13581600, 100): the value and half of the printed precision, in base units."""
    m = re.match(r"^(-?[\d,]+(?:\.(\d+))?)(亿|万)?", text)
    assert m, text
    places = len(m.group(2) or "")
    factor = {"亿": Decimal(100_000_000), "万": Decimal(10_000), None: Decimal(1)}[m.group(3)]
    return Decimal(m.group(1).replace(",", "")) * factor, Decimal(1).scaleb(-places) / 2 * factor


def test_paper_states_the_published_actuals_in_html_and_pdf(paper):
    html_text = flat(re.sub(r"<[^>]+>", "", paper["html"]))
    pdf_text = flat(paper["pdf_text"])
    for stated in SEED_ACTUALS_2020:
        assert stated in html_text, f"HTML lacks {stated}"
        assert stated in pdf_text, f"PDF lacks {stated}"
    assert "行政执法案件结案率95.7%，目标≥95.0%，完成率100.8%，完成目标" in pdf_text  # ≥ 95 % (seed 003)


def test_every_printed_number_is_the_marts(paper, bi_dsn):
    parser = Spans()
    parser.feed(paper["html"])
    assert len(parser.figs) > 200
    with psycopg.connect(bi_dsn) as conn:
        (pub,) = conn.execute(
            "SELECT publication_id FROM published.publication_log WHERE status = 'published' "
            "ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
        at_most = {
            (c, str(y))
            for c, y in conn.execute("SELECT kpi_code, target_year FROM published.targets WHERE comparator = '<='")
        }
        values = {
            (c, p, r): (v, prev, yoy, tgt, att)
            for c, p, r, v, prev, yoy, tgt, att in conn.execute(
                "SELECT kpi_code, period, region_code, value, prev_value, yoy_growth_pct, target_value, attainment_pct "
                "FROM published.kpi_values WHERE grain = 'year'"
            )
        }
        parts = {
            (c, d, m, p): v
            for c, d, m, p, v in conn.execute(
                "SELECT kpi_code, dimension, member, period, value FROM published.kpi_breakdown "
                "WHERE grain = 'year' AND region_code = '330200'"
            )
        }
    assert pub in paper["html"]
    checked = 0
    for fig in parser.figs:
        assert fig["title"].endswith(f" · {pub}"), fig
        kpi, period, region, measure = fig["data-kpi"], fig["data-period"], fig["data-region"], fig["data-measure"]
        m = re.match(r"^(\w+)\[(\w+)=(.+)\]$", kpi)
        code, dim, member = m.groups() if m else (kpi, None, None)
        if measure == "cagr":  # compound annual growth between the first and last year of the period
            first, last = period.split("-")
            v0, v1 = values[(code, first, region)][0], values[(code, last, region)][0]
            expected = ((float(v1) / float(v0)) ** (1 / (int(last) - int(first))) - 1) * 100
        elif measure.startswith("progress_"):  # this year's value against a later plan-period target
            v = values[(code, period, region)][0]
            plan_year = measure.removeprefix("progress_")
            t = values[(code, plan_year, region)][3]
            expected = t / v * 100 if (code, plan_year) in at_most else v / t * 100
        elif measure in ("sum", "share"):
            first, last = (int(x) for x in period.split("-")) if "-" in period else (int(period), int(period))
            years = [str(y) for y in range(first, last + 1)]
            whole = sum(values[(code, y, "330200")][0] for y in years)
            part = sum(parts.get((code, dim, member, y)) or 0 for y in years) if dim else whole
            expected = part if measure == "sum" else part / whole * 100
        elif dim:
            expected = parts[(code, dim, member, period)]
        else:
            v, prev, yoy, tgt, att = values[(code, period, region)]
            expected = {
                "value": v,
                "yoy": yoy,
                "pp": None if prev is None else v - prev,
                "target": tgt,
                "attainment": att,
            }.get(measure)
        assert expected is not None, fig
        shown, tolerance = parse_number(fig["text"].lstrip("≥≤ "))
        expected = abs(Decimal(str(expected))) if measure in ("yoy", "pp", "cagr") else Decimal(str(expected))
        assert abs(shown - expected) <= tolerance, (fig, expected)
        checked += 1
    assert checked == len(parser.figs)
    # the chapters' prose prints no number of its own: digits outside figure spans are years only
    body = "".join(parser.body_outside)
    body = body.split("一、概述", 1)[1].split("附录一")[0]
    body = re.sub(r"[A-Za-z_]\w*", " ", body)  # KPI codes (high_value_patents_per_10k)
    stray = [d for d in re.findall(r"\d[\d,.]*", body) if not re.fullmatch(r"(19|20)\d\d", d)]
    assert stray == [], stray[:20]


def test_growth_wording_follows_the_numbers(paper, bi_dsn):
    from ipkpi.whitepaper.narrative import growth_words

    assert growth_words(Decimal("3.045")) == ("增长", "3.05%")
    assert growth_words(Decimal("-2.954")) == ("下降", "2.95%")
    assert growth_words(Decimal("0.04")) == ("增长", "0.04%")
    assert growth_words(Decimal("-0.004")) == ("持平", None)
    parser = Spans()
    parser.feed(paper["html"])
    with psycopg.connect(bi_dsn) as conn:
        yoy = dict(
            conn.execute(
                "SELECT kpi_code, yoy_growth_pct FROM published.kpi_values WHERE grain = 'year' "
                "AND period = '2020' AND region_code = '330200'"
            ).fetchall()
        )
    text = flat(re.sub(r"<[^>]+>", "", paper["html"]))
    assert "平均审理周期112.7天，同比下降5.12%" in text and yoy["court_avg_trial_days"] < 0
    assert "查处专利假冒侵权案件1,765件，同比增长47.08%" in text and yoy["amr_patent_cases_closed"] > 0
    worded = re.findall(
        r'(增长|下降|提高|降低)<span class="fig"[^>]*data-measure="(?:yoy|pp)" data-exact="([^"]+)"', paper["html"]
    )
    assert len(worded) > 50
    for word, exact in worded:
        assert (word in ("增长", "提高")) == (Decimal(exact) > 0), (word, exact)


def test_growth_rates_print_two_decimals_as_the_city_does(paper):
    """有效发明专利 同比增长27.77% (seed 003): every growth rate (同比, 年均) is printed to two decimals, rounded
    half up from the mart's exact rate; a rate's change in percentage points to one, as the rates are printed."""
    figures = json.loads((paper["dir"] / "figures.json").read_text(encoding="utf-8"))
    growth = [f for f in figures if f["measure"] in ("yoy", "cagr")]
    points = [f for f in figures if f["measure"] == "pp"]
    assert len(growth) > 50 and {f["measure"] for f in growth} == {"yoy", "cagr"} and points
    for f in growth:
        assert f["text"] == f"{abs(Decimal(f['exact'])).quantize(Decimal('0.01'), ROUND_HALF_UP)}%", f
    for f in points:
        assert f["text"] == f"{abs(Decimal(f['exact'])).quantize(Decimal('0.1'), ROUND_HALF_UP)}个百分点", f
    text = flat(re.sub(r"<[^>]+>", "", paper["html"]))
    assert "有效发明专利拥有量30,551件，同比增长27.77%" in text
    assert re.search(r"年均(增长|下降)\d+\.\d\d%", text)


def table_rows(html: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each <table> of ``html``: its header cells and its rows of cells (text, entities decoded)."""
    import html as html_lib

    tables = []
    for table in re.findall(r"<table[^>]*>(.*?)</table>", html, re.S):
        header = [html_lib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
        rows = [
            [html_lib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
            if "<td" in row
        ]
        tables.append((header, rows))
    return tables


def test_appendix_values_are_formatted_by_unit(paper):
    """附录二–四 print numbers as the paper does, never a float's 16 digits: the gate's offending rows (附录三)
    show a KPI's value exactly as the text prints that figure and growth to two places; the trace (附录四)
    shows each figure finer than the text — counts whole with separators, money in 元 to the fen, the rest to
    four places — while figures.json keeps the unrounded value."""
    html = paper["html"]
    appendix = html.split('<h2 id="appendix">', 1)[1].split("附录二", 1)[1]
    cells = [c for _, rows in table_rows(appendix) for row in rows for c in row]
    assert len(cells) > 1000 and [c for c in cells if re.search(r"\d\.\d{5,}", c)] == []
    figures = json.loads((paper["dir"] / "figures.json").read_text(encoding="utf-8"))
    printed = {(f["kpi"], f["period"], f["region"]): f["text"] for f in figures if f["measure"] == "value"}

    # 附录二: payload sizes (a source month's bytes) are counts
    payloads = next(rows for header, rows in table_rows(appendix) if any(h.startswith("SHA-256") for h in header))
    sizes = [row[3] for row in payloads]
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", size) for size in sizes) and any("," in size for size in sizes)

    # 附录三: a KPI's value (and previous value) in its unit, as the text prints the same figure
    warnings = table_rows(appendix.split("附录三", 1)[1].split("附录四", 1)[0])
    compared = 0
    for header, rows in warnings:
        for row in rows:
            cell = dict(zip(header, row))
            if "yoy_growth_pct" in cell:
                assert re.fullmatch(r"-?\d+\.\d\d%", cell["yoy_growth_pct"]), cell
            key = (cell.get("kpi_code"), cell.get("period"), cell.get("region_code", "330200"))
            if "value" in cell and key in printed:
                assert cell["value"] == printed[key], (cell, printed[key])
                compared += 1
    assert compared >= 3

    # 附录四: the trace, row for row the figures of figures.json
    trace = table_rows(appendix.split("附录四", 1)[1])[0][1]
    assert len(trace) == len(figures)
    kinds = set()
    for row, figure in zip(trace, figures):
        assert row[1:6] == [figure["text"], figure["kpi"], figure["period"], figure["region"], figure["measure"]]
        shown, exact, unit = row[6], Decimal(figure["exact"]), figure["unit"]
        if unit in ("件", "起", "人", "批", "笔", "家") and exact == exact.to_integral_value():
            assert shown == f"{int(exact):,}{unit}", (row, figure)
            kinds.add("count")
            continue
        places = 2 if unit == "元" else 4
        m = re.fullmatch(r"(-?[\d,]+\.(\d+))" + re.escape(unit), shown)
        assert m and len(m.group(2)) == places, (row, figure)
        assert abs(Decimal(m.group(1).replace(",", "")) - exact) <= Decimal(1).scaleb(-places) / 2, (row, figure)
        kinds.add(unit)
    assert {"count", "元", "%", "个百分点", "天"} <= kinds
    assert any(len(f["exact"].split(".")[-1]) > 4 for f in figures if f["unit"] == "%")  # unrounded in the JSON


def test_structure_targets_trajectories_and_appendix(paper, bi_dsn):
    text = flat(paper["pdf_text"])
    for heading in HEADINGS:
        assert heading in text
    with psycopg.connect(bi_dsn) as conn:
        targets_2025 = [
            c
            for (c,) in conn.execute(
                "SELECT kpi_code FROM published.kpi_values WHERE grain = 'year' AND period = '2025' "
                "AND region_code = '330200' AND target_value IS NOT NULL"
            )
        ]
        catalogue = [c for (c,) in conn.execute("SELECT kpi_code FROM published.kpi_catalogue")]
    assert len(targets_2025) >= 8
    for code in targets_2025:
        assert (paper["dir"] / "charts" / f"trajectory_{code}.png").stat().st_size > 5000
    assert "2025年目标实现轨迹" in text and ("可如期完成" in text or "难以如期完成" in text)
    for code in catalogue:
        assert code in paper["pdf_text"].replace("\n", "")
    # 附录三: the gate's warnings, with the 行刑衔接 reconciliation rows of the year
    appendix = text.split("附录三", 1)[1].split("附录四")[0]
    assert "reconciliation_xingxing" in appendix and "amr_transferred" in appendix and "police_from_amr" in appendix
    assert "附录四数据溯源表" in text and "pub-" in text
    for source in SOURCES:
        assert source in text  # 附录二: each source's months and loads
    charts = sorted(p.name for p in (paper["dir"] / "charts").iterdir())
    assert {
        "comp_court_case_type.png",
        "comp_customs_channel.png",
        "comp_pledge_type.png",
        "district_invention.png",
        "trend_invention.png",
    } <= set(charts)


def test_appendix_lists_the_payload_checksums_that_fed_the_year(paper, wp_dsn):
    # what raw holds (the owner can read it; the paper could not): each 2020 source month's current load,
    # its payloads in page order
    with psycopg.connect(wp_dsn) as conn:
        pages = conn.execute(
            "SELECT m.source, m.period, p.sha FROM raw.source_months AS m "
            "JOIN raw.loads AS l ON l.load_id = m.current_load_id, "
            "unnest(l.payload_sha256s) WITH ORDINALITY AS p(sha, position) "
            "WHERE m.period LIKE '2020-%' ORDER BY m.source, m.period, p.position"
        ).fetchall()
        archived = {sha for (sha,) in conn.execute("SELECT sha256 FROM raw.payloads")}
    assert len(pages) >= 72 and {sha for _, _, sha in pages} <= archived
    months: dict[tuple[str, str], list[str]] = {}
    for source, period, sha in pages:
        months.setdefault((source, period), []).append(sha)
    # both kinds of row are checked: months of one payload and paged months
    assert {len(shas) == 1 for shas in months.values()} == {True, False}

    # beside the paper, every page's checksum, in page order
    with (paper["dir"] / "payloads-2020.csv").open(encoding="utf-8") as f:
        listed_pages = sorted(csv.DictReader(f), key=lambda r: (r["source"], r["period"], int(r["position"])))
    assert [(r["source"], r["period"], r["sha256"]) for r in listed_pages] == pages

    # in the paper, one row per source month: the payload's checksum, or the digest of its pages' checksums
    def digest(shas: list[str]) -> str:
        return "摘要 " + hashlib.sha256("".join(f"{sha}\n" for sha in shas).encode()).hexdigest()

    expected = {
        (source, period, str(len(shas)), shas[0] if len(shas) == 1 else digest(shas))
        for (source, period), shas in months.items()
    }
    listed = set(
        re.findall(
            r'<tr><td class="code">(\w+)</td><td>(2020-\d\d)</td><td>(\d+)</td><td>[\d,]*</td>'
            r'<td class="code sha">((?:摘要 )?[0-9a-f]{64})</td></tr>',
            paper["html"],
        )
    )
    assert listed == expected
    pdf_text = flat(paper["pdf_text"])
    for *_, sha in sorted(expected)[:20]:
        assert sha.removeprefix("摘要 ") in pdf_text  # the PDF prints them whole (wrapped lines joined)


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` Noto Sans CJK SC (what fontconfig gives for the paper's family) has no glyph for."""
    from fontTools.ttLib import TTCollection

    font_file = subprocess.run(
        ["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True, check=True
    ).stdout
    assert "NotoSansCJK" in font_file, font_file
    cmap = TTCollection(font_file, lazy=True).fonts[0].getBestCmap()
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})


def test_pdf_embeds_noto_cjk_and_rasterises(paper, tmp_path):
    fonts = subprocess.run(["pdffonts", str(paper["pdf"])], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert any("Noto-Sans-CJK-SC" in r for r in rows)
    assert all(r.split()[-5] == "yes" for r in rows), fonts  # every font embedded
    assert "\ufffd" not in paper["pdf_text"]
    # no tofu: a missing glyph shows as a box on the page while the text layer stays right, so check the
    # fonts: Noto Sans CJK draws the text (and has a glyph for every character of it), DejaVu Sans Mono
    # only the checksums of appendix 二 (hex digits); no other font stood in for a missing glyph
    families = {r.split()[0].split("+", 1)[-1] for r in rows}
    assert all(f.startswith("Noto-Sans-CJK") or f == "DejaVu-Sans-Mono" for f in families), fonts
    assert missing_glyphs(paper["pdf_text"]) == []
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "3", str(paper["pdf"]), str(tmp_path / "p")], check=True
    )
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 3 and all(p.stat().st_size > 10_000 for p in pages)


def test_html_in_headless_chromium_uses_noto_cjk(paper, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium missing: scripts/system-deps.sh"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = (paper["dir"] / "whitepaper-2020.html").as_uri()
    shot = tmp_path / "shot.png"
    printed = tmp_path / "chromium.pdf"
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1000,1400", url],
        capture_output=True,
        timeout=90,
        check=True,
    )
    subprocess.run(
        [chromium, *flags, "--no-pdf-header-footer", f"--print-to-pdf={printed}", url],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert shot.stat().st_size > 20_000
    # Chromium's PDF names no fonts (Skia writes Type 3), so: the CSS family resolves to Noto Sans CJK
    # and that font has a glyph for every character of the page; and the text Chromium drew is the page's
    text = re.sub(r"<[^>]+>", "", paper["html"].split("<body>", 1)[1])
    import html as html_lib

    assert missing_glyphs(html_lib.unescape(text)) == []
    drawn = flat(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(printed), "-"], capture_output=True, text=True, check=True
        ).stdout
    )
    for heading in HEADINGS:
        assert heading in drawn
    assert "查处专利假冒侵权案件1,765件" in drawn and "\ufffd" not in drawn


def test_the_paper_reads_one_publication(paper, bi_dsn, tmp_path):
    """The paper is read from one publication, the current one unless an id is given (an id `published` does
    not hold is refused); the DAG skips a year whose paper was written from the current publication."""
    from ipkpi.mart import PublicationNotHeld
    from ipkpi.whitepaper import already_written
    from ipkpi.whitepaper.data import load

    current = load(2020, bi_dsn)
    assert current.publication_id in paper["html"]
    assert load(2020, bi_dsn, current.publication_id).city == current.city
    with pytest.raises(PublicationNotHeld, match="pub-19700101T000000Z-000000"):
        load(2020, bi_dsn, "pub-19700101T000000Z-000000")
    assert already_written(2020, paper["dir"].parent, bi_dsn) == current.publication_id
    assert already_written(2019, paper["dir"].parent, bi_dsn) is None  # never written
    (tmp_path / "2020").mkdir()
    figures = json.loads((paper["dir"] / "figures.json").read_text(encoding="utf-8"))
    (tmp_path / "2020" / "figures.json").write_text(json.dumps([{**figures[0], "publication_id": "pub-older"}]))
    assert already_written(2020, tmp_path, bi_dsn) is None  # written from an earlier publication


def test_incomplete_and_unpublished_years_are_refused(wp_dsn, tmp_path):
    result = ipkpi("whitepaper", "--year", "2025", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "finance: missing 2025-12" in result.stderr and "court" not in result.stderr
    assert "ip_pledge_amount (11/12)" in result.stderr
    result = ipkpi("whitepaper", "--year", "2026", "--out", str(tmp_path))
    assert result.returncode == 2
    for source in SOURCES:
        assert f"{source}: missing 2026-01…2026-12" in result.stderr
    assert not any(tmp_path.iterdir())  # never a paper with holes


def test_missing_months_are_named_compactly():
    from ipkpi.whitepaper.data import IncompleteYear, compress_months, missing_months

    have = {("court", f"2021-{m:02d}") for m in range(1, 13)} | {("police", f"2021-{m:02d}") for m in (1, 2, 3, 7)}
    gap = missing_months(2021, ["court", "police"], have)
    assert gap == {"police": ["2021-04", "2021-05", "2021-06", "2021-08", "2021-09", "2021-10", "2021-11", "2021-12"]}
    assert compress_months(gap["police"]) == "2021-04…2021-06, 2021-08…2021-12"
    assert "police: missing 2021-04…2021-06, 2021-08…2021-12" in str(IncompleteYear(2021, gap))


def test_trajectory_projection():
    from ipkpi.whitepaper.charts import project

    up = project({2018: Decimal(100), 2019: Decimal(110), 2020: Decimal(121)}, Decimal(160), False, 2025)
    assert round(up["rate_pct"], 6) == 10 and up["met_year"] == 2023 and up["met_by_target_year"]
    slow = project({2019: Decimal(100), 2020: Decimal(101)}, Decimal(200), False, 2025)
    assert slow["met_year"] is None and not slow["met_by_target_year"]
    down = project({2020: Decimal(40), 2021: Decimal(36)}, Decimal(30), True, 2025)
    assert down["met_year"] == 2023


def test_whitepaper_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["ipkpi_whitepaper"]
    assert dag.task_ids == ["whitepaper"] and "year" in dag.params
