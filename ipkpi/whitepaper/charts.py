"""Charts with Chinese labels (matplotlib, Agg, Noto Sans CJK SC). Each returns the PNG's file name.

A glyph the font lacks makes matplotlib warn ("Glyph … missing"); :func:`setup` turns that warning
into an error, so a chart with tofu is never written.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

FONT = ["Noto Sans CJK SC", "DejaVu Sans"]
HORIZON = 2035  # how far a trajectory is projected before "not reached"
COLORS = ["#1f5fa8", "#e07b39", "#3a9a5b", "#c23b3b", "#7d5ba6", "#8c6d31", "#4bb3c4", "#999999"]


def setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    if "Noto Sans CJK SC" not in names:
        font_manager.fontManager.__init__()  # rescan: the fonts may have been installed after the cache
        if "Noto Sans CJK SC" not in {f.name for f in font_manager.fontManager.ttflist}:
            raise RuntimeError("font Noto Sans CJK SC not found: install fonts-noto-cjk (scripts/system-deps.sh)")
    plt.rcParams.update(
        {
            "font.family": FONT,
            "axes.unicode_minus": False,
            "figure.dpi": 100,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
        }
    )
    warnings.filterwarnings("error", message=r".*[Gg]lyph .* missing.*")
    return plt


class Charts:
    def __init__(self, out_dir: Path):
        self.plt = setup()
        self.dir = out_dir
        self.dir.mkdir(parents=True, exist_ok=True)

    def _save(self, fig, name: str) -> str:
        fig.tight_layout()
        fig.savefig(self.dir / name, dpi=110)
        self.plt.close(fig)
        return f"charts/{name}"

    def trend(self, name: str, title: str, series: dict[str, dict[int, float]], unit: str, scale: float = 1) -> str:
        fig, ax = self.plt.subplots(figsize=(6.4, 3.0))
        for i, (label, points) in enumerate(series.items()):
            xs = sorted(points)
            ax.plot(xs, [points[x] / scale for x in xs], marker="o", color=COLORS[i % len(COLORS)], label=label)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.set_xlabel("年份")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", alpha=0.3)
        if len(series) > 1:
            ax.legend(frameon=False)
        return self._save(fig, name)

    def composition(self, name: str, title: str, parts: dict[str, float], unit: str, scale: float = 1) -> str:
        items = sorted(((k, float(v) / scale) for k, v in parts.items() if v), key=lambda kv: -kv[1])
        fig, ax = self.plt.subplots(figsize=(6.4, 0.45 * max(len(items), 2) + 0.9))
        labels = [k for k, _ in items][::-1]
        values = [v for _, v in items][::-1]
        ax.barh(labels, values, color=COLORS[0])
        total = sum(values) or 1
        for y, v in enumerate(values):
            ax.text(
                v,
                y,
                f" {v:,.2f}" if v != int(v) else f" {int(v):,}" + f"（{v / total * 100:.1f}%）",
                va="center",
                fontsize=8,
            )
        ax.set_title(title)
        ax.set_xlabel(unit)
        ax.margins(x=0.25)
        return self._save(fig, name)

    def districts(self, name: str, title: str, values: dict[str, float], unit: str, scale: float = 1) -> str:
        items = sorted(values.items(), key=lambda kv: -kv[1])
        fig, ax = self.plt.subplots(figsize=(6.4, 3.0))
        ax.bar([k for k, _ in items], [float(v) / scale for _, v in items], color=COLORS[2])
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(axis="y", alpha=0.3)
        return self._save(fig, name)

    def trajectory(
        self,
        name: str,
        title: str,
        actual: dict[int, float],
        projected: dict[int, float],
        target: float,
        target_year: int,
        unit: str,
        scale: float = 1,
    ) -> str:
        fig, ax = self.plt.subplots(figsize=(6.4, 3.0))
        xs = sorted(actual)
        ax.plot(xs, [actual[x] / scale for x in xs], marker="o", color=COLORS[0], label="实际值")
        if projected:
            px = [xs[-1]] + sorted(projected)
            py = [actual[xs[-1]] / scale] + [projected[x] / scale for x in sorted(projected)]
            ax.plot(px, py, linestyle="--", marker=".", color=COLORS[1], label="按近期增速推算")
        ax.axhline(target / scale, color=COLORS[3], linestyle=":", label=f"{target_year}年目标")
        ax.axvline(target_year, color="#bbbbbb", linewidth=0.8)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        return self._save(fig, name)


def project(
    history: dict[int, Decimal],
    target: Decimal,
    at_most: bool,
    target_year: int,
    window: int = 3,
    horizon: int = HORIZON,
) -> dict:
    """At the recent growth rate (compound, over the last ``window`` years), when is the target met?

    Returns {rate_pct, projected: {year: value}, met_year (None if not by ``horizon``), met_by_target_year}.
    """
    years = sorted(y for y, v in history.items() if v is not None)
    last = years[-1]
    first = max(years[0], last - window)
    v0, v1 = float(history[first]), float(history[last])
    n = last - first
    rate = ((v1 / v0) ** (1 / n) - 1) if n and v0 > 0 and v1 > 0 else 0.0
    t = float(target)
    done = (lambda v: v <= t) if at_most else (lambda v: v >= t)
    projected, met_year = {}, (last if done(v1) else None)
    v = v1
    for y in range(last + 1, max(horizon, target_year) + 1):
        v = v * (1 + rate)
        if y <= max(target_year, last + 1) or met_year is None:
            projected[y] = v
        if met_year is None and done(v):
            met_year = y
        if met_year is not None and y >= target_year:
            break
    return {
        "rate_pct": rate * 100,
        "from_year": first,
        "last_year": last,
        "projected": projected,
        "met_year": met_year,
        "met_by_target_year": met_year is not None and met_year <= target_year,
    }
