"""Benchmark of the dbt mart: a full build, and one new month with 1 year vs 8 years of history.

    .venv/bin/python dbt_project/bench_mart.py [--scale N] [--repeat 3] [--json out.json]

What it measures (dbt through ipkpi.transform.run_dbt, as the pipeline runs it; ingestion is
not timed):
1. `dbt build --full-refresh` on the default sandbox dataset, 2018-01 … 2025-12 (all six feeds);
2. incremental one-month runs: history H months ingested and built, then each of the last
   `repeat` months ingested and `dbt build` timed (wall clock, and from run_results.json the
   summed model and test times) — with H = 12 (1 year of history) and H = 96 − repeat (8 years).
   The same months are added in both scenarios. Ratio = median(8 years) / median(1 year);
   the goal is ≤ 1.2. dbt runs 4 threads, so summed node times exceed the wall clock.

State: its own embedded Postgres under $IPKPI_HOME (default var/bench-mart, port
$IPKPI_PG_PORT, default 25832) and an in-process sandbox; never the defaults.
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
    parser.add_argument("--scale", type=int, default=1, help="sandbox dataset scale (record volume multiplier)")
    parser.add_argument("--repeat", type=int, default=3, help="one-month runs per scenario (median taken)")
    parser.add_argument("--json", help="write the figures to this file as JSON")
    args = parser.parse_args()

    from ingest.http import Endpoint
    from ingest.registry import SOURCES
    from ingest.runner import ingest_months
    from ipkpi.config import Settings
    from ipkpi import services
    from sandbox import SandboxConfig, start_server
    from tests.mart import harness

    settings = Settings.from_env()
    was_up = services.pg_is_up(settings)
    services.ensure_postgres(settings)
    secrets = settings.secrets["sandbox"]
    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=secrets, scale=args.scale))
    results: dict = {"scale": args.scale, "repeat": args.repeat}

    def ingest(dsn: str, periods: list[str]) -> float:
        started = time.monotonic()
        for source, conn_id in SOURCES.items():
            endpoint = Endpoint(conn_id, server.url, secrets[conn_id.removeprefix("ipkpi_")])
            ingest_months(source, periods, dsn, endpoint, run_id="bench-mart")
        return time.monotonic() - started

    def dbt(dsn: str, home: Path, *dbt_args: str) -> float:
        return harness.dbt(list(dbt_args), dsn, home, publication_id="pub-bench")

    try:
        # 1. the full build on the default dataset
        dsn = harness.fresh_database(settings, "bench_full")
        home = settings.home / "full"
        results["ingest_all_s"] = round(ingest(dsn, ALL), 1)
        results["full_build_s"] = round(dbt(dsn, home, "build", "--full-refresh"), 1)
        results["noop_build_s"] = round(dbt(dsn, home, "build"), 1)
        print(f"full dbt build (2018-01 … 2025-12): {results['full_build_s']} s; "
              f"again with nothing new: {results['noop_build_s']} s", flush=True)

        # 2. one new month, 1 year vs 8 years of history
        added = ALL[-args.repeat:]
        for label, history in (("1y", 12), ("8y", len(ALL) - args.repeat)):
            dsn = harness.fresh_database(settings, f"bench_{label}")
            home = settings.home / label
            before = ALL[len(ALL) - args.repeat - history: len(ALL) - args.repeat]
            ingest(dsn, before)
            dbt(dsn, home, "build")
            walls, models, tests = [], [], []
            for period in added:
                ingest(dsn, [period])
                walls.append(dbt(dsn, home, "build"))
                m, t = node_seconds(home)
                models.append(m)
                tests.append(t)
            results[f"history_{label}"] = {"months": f"{before[0]} … {before[-1]}", "added": added,
                                          "dbt_build_wall_s": [round(x, 2) for x in walls],
                                          "models_s": [round(x, 2) for x in models],
                                          "tests_s": [round(x, 2) for x in tests]}
            print(f"{label}: history {before[0]} … {before[-1]}, one new month: dbt build {walls} s "
                  f"(models {models} s, tests {tests} s)", flush=True)
        for kind in ("dbt_build_wall_s", "models_s", "tests_s"):
            one = statistics.median(results["history_1y"][kind])
            eight = statistics.median(results["history_8y"][kind])
            results[f"ratio_{kind}"] = round(eight / one, 3)
            print(f"{kind}: median 1y {one:.2f} s, 8y {eight:.2f} s, ratio {eight / one:.3f} (goal ≤ 1.2)")
    finally:
        server.stop()
        if not was_up:  # leave no server behind that the benchmark started
            services.stop_postgres(settings)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
