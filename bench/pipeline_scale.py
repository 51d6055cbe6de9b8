"""Benchmark: the pipeline's steps at the default volume and at ×N — ingest, dbt build, the gate.

    .venv/bin/python bench/pipeline_scale.py [--scales 1,100] [--from 2024-01] [--to 2025-12]

For each scale: a fresh warehouse database, every source ingested for the range from a sandbox
at that scale (a separate process), then `dbt build --full-refresh` and the quality gate on the
candidate. Prints seconds per step and the gate's share of the build (goal: gate ≤ 20 % of build).
Own state directory (var/bench) and ports (bench/state.py): never touches `make run`'s stack.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.state import use_own_state  # noqa: E402 - the path first

use_own_state("bench", pg_port=25732, sandbox_port=29101)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,100")
    parser.add_argument("--from", dest="first", default="2024-01")
    parser.add_argument("--to", dest="last", default="2025-12")
    args = parser.parse_args()

    import psycopg

    from ingest.http import Endpoint
    from ingest.registry import SOURCES
    from ingest.runner import ingest_months
    from ipkpi import services
    from ipkpi.config import Settings
    from ipkpi.gate import run_gate
    from ipkpi.pipeline import month_bounds, months_in_interval
    from ipkpi.publish import CANDIDATE
    from ipkpi.transform import run_dbt
    from ipkpi.warehouse import init_warehouse

    settings = Settings.from_env()
    services.ensure_postgres(settings)
    months = months_in_interval(*month_bounds(args.first, args.last))
    credentials = services.write_sandbox_credentials(settings)
    keys = settings.secrets["sandbox"]
    results = []
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS ipkpi WITH (FORCE)")
                conn.execute("CREATE DATABASE ipkpi OWNER ipkpi_owner")
            dsn = settings.warehouse_dsn
            init_warehouse(dsn, settings)
            sandbox = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port",
                                        str(settings.sandbox_port), "--credentials-file", str(credentials),
                                        "--scale", str(scale)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            try:
                sandbox.stdout.readline()
                started, rows = time.perf_counter(), 0
                for source, conn_id in SOURCES.items():
                    endpoint = Endpoint(conn_id, settings.sandbox_url, keys[conn_id.removeprefix("ipkpi_")])
                    report = ingest_months(source, months, dsn, endpoint, run_id="bench")
                    rows += sum(m.rows for m in report.months)
                ingest_s = time.perf_counter() - started  # includes the sandbox generating the data
            finally:
                sandbox.terminate()
                sandbox.wait()
            started = time.perf_counter()
            run_dbt(["build", "--full-refresh"], dsn, settings.home, "bench")
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            gate = run_gate(dsn, settings.home, CANDIDATE, run_name=f"bench-x{scale}")
            gate_s = time.perf_counter() - started
            results.append((scale, rows, ingest_s, build_s, gate_s, len(gate.checks), gate.passed))
            print(f"×{scale}: {rows:,} raw rows; ingest {ingest_s:.1f} s; dbt build {build_s:.1f} s; "
                  f"gate {gate_s:.1f} s ({len(gate.checks)} checks)", flush=True)
    finally:
        services.stop_postgres(settings)

    print(f"\nmonths {months[0]} … {months[-1]}")
    print(f"{'scale':>6}{'raw rows':>12}{'ingest s':>10}{'build s':>10}{'gate s':>9}{'gate/build':>12}{'checks':>8}")
    for scale, rows, ingest_s, build_s, gate_s, checks, passed in results:
        print(f"{'×' + str(scale):>6}{rows:>12,}{ingest_s:>10.1f}{build_s:>10.1f}{gate_s:>9.1f}"
              f"{gate_s / build_s:>12.0%}{checks:>8}{'' if passed else '  (blocked)'}")


if __name__ == "__main__":
    main()
