"""Benchmark of the dbt mart: one new month with 1 vs 8 years of history, incremental build
next to a full rebuild of the same data.

    .venv/bin/python dbt_project/bench_mart.py [--scale 100] [--repeat 3] [--store DIR] [--json out.json] [--record]

What it measures (dbt through ipkpi.pipeline.transform.run_dbt, as the pipeline runs it; ingestion is
not timed): for H = 12 months (1 year of history) and H = 96 − repeat (8 years), a database
holding H months of every feed is built, then each of the last `repeat` months of 2018-01 …
2025-12 is ingested and
- `dbt build` is timed — the incremental build the pipeline runs (wall clock, and from
  run_results.json the summed model and test times);
- then, as a control on the same data, `dbt build --full-refresh` is timed: what the build would
  cost if the models were not incremental.
The same months are added in both scenarios. Ratios: median(8 years) / median(1 year) of the
incremental build (goal ≤ 1.2: a new month costs the same whatever the history), and full
rebuild / incremental build at 8 years (what incrementality saves). After the last month a
`dbt build` with nothing new is timed too. dbt runs 4 threads, so summed node times exceed
the wall clock.

Default scale ×100: at ×1 dbt's fixed cost per model (≈ 10 s a build) hides whether the models
are incremental at all. ×100 for 8 years means ingesting ≈ 2 × 96 months at ×100 (not timed:
about a quarter of an hour on 2 cores) before the timed builds.

`--store DIR` serves the feeds through bench/replay.py's proxy from responses recorded before
(e.g. bench/pipeline_scale.py's store of the same months and scale, whose sandbox credentials the
requests must carry: finance sends its token in the URL), so the untimed ingestion does not wait
for the sandbox to generate 96 months again; a response not in the store is fetched live and
counted. The timed builds are the same either way.

State: its own embedded Postgres under $IPKPI_HOME (default var/bench-mart, port
$IPKPI_PG_PORT, default 25832) and an in-process sandbox; never the defaults. `--record`
replaces this section of bench/RESULTS.md (bench/results.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("IPKPI_HOME", str(ROOT / "var" / "bench-mart"))
os.environ.setdefault("IPKPI_PG_PORT", "25832")
os.environ.setdefault("IPKPI_AIRFLOW_PORT", "28780")
os.environ.setdefault("IPKPI_SANDBOX_PORT", "29701")


def months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


ALL = months("2018-01", "2025-12")


def node_seconds(home: Path) -> tuple[float, float]:
    """Σ execution time of the models and of the tests of the last dbt invocation (run_results.json)."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("model.", "seed.")))
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
    return models, tests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100, help="sandbox dataset scale (record volume multiplier)")
    parser.add_argument("--repeat", type=int, default=3, help="one-month runs per scenario (median taken)")
    parser.add_argument("--store", type=Path, help="replay recorded responses from this directory (bench/replay.py)")
    parser.add_argument("--json", help="write the figures to this file as JSON")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()

    from bench.results import load_average
    from ingest.http import Endpoint
    from ingest.registry import SOURCES
    from ingest.runner import ingest_months
    from ipkpi.platform import services
    from ipkpi.platform.config import Settings
    from sandbox import SandboxConfig, start_server
    from tests.mart import harness

    started_load = load_average()
    settings = Settings.from_env()
    was_up = services.pg_is_up(settings)
    services.ensure_postgres(settings)
    secrets = settings.secrets["sandbox"]
    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=secrets, scale=args.scale))
    proxy = None
    if args.store:
        from bench.replay import ReplayProxy

        proxy = ReplayProxy(server.url, args.store)
        proxy.recording = False  # serve what is there, count what is not
    feed_url = proxy.url if proxy else server.url
    results: dict = {"scale": args.scale, "repeat": args.repeat}

    def ingest(dsn: str, periods: list[str]) -> float:
        started = time.monotonic()
        for source, conn_id in SOURCES.items():
            endpoint = Endpoint(conn_id, feed_url, secrets[conn_id.removeprefix("ipkpi_")])
            ingest_months(source, periods, dsn, endpoint, run_id="bench-mart")
        return time.monotonic() - started

    def dbt(dsn: str, home: Path, *dbt_args: str) -> float:
        return harness.dbt(list(dbt_args), dsn, home, publication_id="pub-bench")

    try:
        added = ALL[-args.repeat :]
        for label, history in (("1y", 12), ("8y", len(ALL) - args.repeat)):
            dsn = harness.fresh_database(settings, f"bench_{label}")
            home = settings.home / label
            before = ALL[len(ALL) - args.repeat - history : len(ALL) - args.repeat]
            ingest_s = ingest(dsn, before)
            first_s = dbt(dsn, home, "build")
            walls, models, tests, full_walls, full_models = [], [], [], [], []
            for period in added:
                ingest(dsn, [period])
                walls.append(dbt(dsn, home, "build"))
                m, t = node_seconds(home)
                models.append(m)
                tests.append(t)
                full_walls.append(dbt(dsn, home, "build", "--full-refresh"))  # the control, same data
                full_models.append(node_seconds(home)[0])
            scenario = {
                "months": f"{before[0]} … {before[-1]}",
                "added": added,
                "ingest_history_s": round(ingest_s, 1),
                "first_build_s": round(first_s, 1),
                "dbt_build_wall_s": [round(x, 2) for x in walls],
                "models_s": [round(x, 2) for x in models],
                "tests_s": [round(x, 2) for x in tests],
                "full_refresh_wall_s": [round(x, 2) for x in full_walls],
                "full_refresh_models_s": [round(x, 2) for x in full_models],
            }
            if label == "8y":
                scenario["noop_build_s"] = round(dbt(dsn, home, "build"), 2)
            results[f"history_{label}"] = scenario
            print(
                f"{label}: history {before[0]} … {before[-1]}, one new month: dbt build {walls} s "
                f"(models {models} s, tests {tests} s); full rebuild {full_walls} s",
                flush=True,
            )
        for kind in ("dbt_build_wall_s", "models_s", "tests_s", "full_refresh_wall_s"):
            one = statistics.median(results["history_1y"][kind])
            eight = statistics.median(results["history_8y"][kind])
            results[f"ratio_{kind}"] = round(eight / one, 3)
            print(
                f"{kind}: median 1y {one:.2f} s, 8y {eight:.2f} s, ratio 8y/1y {eight / one:.3f}"
                + (" (goal ≤ 1.2)" if kind == "dbt_build_wall_s" else "")
            )
        eight = results["history_8y"]
        results["full_over_incremental_8y"] = round(
            statistics.median(eight["full_refresh_wall_s"]) / statistics.median(eight["dbt_build_wall_s"]), 3
        )
        if proxy:
            results["requests_replayed_live"] = [proxy.hits, proxy.misses]
    finally:
        if proxy:
            proxy.stop()
        server.stop()
        if not was_up:  # leave no server behind that the benchmark started
            services.stop_postgres(settings)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if args.record:
        from bench.results import record

        record(
            "bench_mart",
            "dbt mart: incremental month vs history, full-rebuild control (dbt_project/bench_mart.py)",
            report(results),
            started_load,
        )
    return 0


def report(results: dict) -> str:
    """The Markdown block bench/RESULTS.md holds."""
    rows = [
        "| history | months held | one new month: `dbt build` wall s (median) | models s | tests s | "
        "full rebuild (`--full-refresh`) wall s (median) | full / incremental |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label in ("1y", "8y"):
        s = results[f"history_{label}"]
        incremental, full = statistics.median(s["dbt_build_wall_s"]), statistics.median(s["full_refresh_wall_s"])
        rows.append(
            f"| {label} | {s['months']} (+{', '.join(s['added'])}) | {incremental:.1f} "
            f"{s['dbt_build_wall_s']} | {statistics.median(s['models_s']):.1f} | "
            f"{statistics.median(s['tests_s']):.1f} | {full:.1f} {s['full_refresh_wall_s']} | "
            f"{full / incremental:.2f}× |"
        )
    ratio = results["ratio_dbt_build_wall_s"]
    return (
        f"Sandbox ×{results['scale']}, {results['repeat']} months added one at a time in each scenario.\n\n"
        + "\n".join(rows)
        + "\n\n"
        f"Incremental build, 8 years / 1 year of history: {ratio:.2f} (goal ≤ 1.2: "
        f"{'met' if ratio <= 1.2 else 'NOT met'}). `dbt build` with nothing new (8 years): "
        f"{results['history_8y']['noop_build_s']} s. Ingestion (not timed) of the 8-year history: "
        f"{results['history_8y']['ingest_history_s']} s"
        + (
            " (requests replayed from a recorded store / served live by the sandbox: {:,} / {:,})".format(
                *results["requests_replayed_live"]
            )
            if "requests_replayed_live" in results
            else " (the sandbox generating every month live)"
        )
        + ".\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
