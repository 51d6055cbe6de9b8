"""Benchmark: what a scheduled run costs when nothing changed, and when one agency month arrived.

    .venv/bin/python bench/schedule_runs.py [--repeat 3]

Its own state directory (var/bench-schedule) and ports; a fresh warehouse; the default sandbox
dataset served in-process with a clock this script moves. First a scheduled run at the instant
before the last months of 2025 come out (the deployment's catch-up: every month from 2018-01),
then, ``--repeat`` times: a run at the same instant again (nothing changed: "no change"), and a run
right after the next agency publication (one new month: ingest, an incremental dbt build, the gate,
the swap). Each through Airflow with `ipkpi run --at`, timed as a user waits for it (wall) and as
Airflow ran it (the DAG run's start to end). Prints the medians and the goal (no change ≤ 10 s and
≤ ¼ of a one-new-month run), then a full rebuild's dbt time next to the incremental one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.state import use_own_state  # noqa: E402 - the path first

use_own_state("bench-schedule", pg_port=25932, sandbox_port=29401, airflow_port=28980)
for name in [k for k in os.environ if k.startswith("AIRFLOW_CONN_IPKPI_") or k == "IPKPI_WAREHOUSE_DSN"]:
    del os.environ[name]  # this script decides where data comes from and goes to


def timed_run(instant, env: dict, client) -> tuple[float, float, bool, float | None]:
    """(wall s, DAG run s, said no change, dbt's transform task s) of `ipkpi run --at instant`."""
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ipkpi")), "run", "--at", instant.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"run at {instant} failed:\n{result.stdout}\n{result.stderr}")
    run_id = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("triggered "))
    run = client.run(run_id)
    from datetime import datetime

    dag_seconds = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
    transform = next((ti.get("duration") for ti in client.task_instances(run_id) if ti["task_id"] == "transform"), None)
    return wall, dag_seconds, "no change" in result.stdout, transform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()

    from bench.results import load_average, record

    started_load = load_average()

    import psycopg

    from ingest.registry import SOURCES
    from ipkpi.cli import cmd_setup
    from ipkpi.pipeline.schedule import interval_at, next_tick
    from ipkpi.pipeline.transform import run_dbt
    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services
    from ipkpi.platform.airflow_client import AirflowClient
    from ipkpi.platform.config import Settings
    from sandbox import SandboxConfig, start_server

    settings = Settings.from_env()
    services.ensure_postgres(settings)
    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi OWNER ipkpi_owner")
    init_warehouse(settings.warehouse_dsn, settings)
    keys = settings.secrets["sandbox"]
    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=keys))
    env = {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(
            {"conn_type": "http", "host": server.url, "password": keys[conn_id.removeprefix("ipkpi_")]}
        )
        for conn_id in set(SOURCES.values())
    }
    os.environ.update(env)
    try:
        cmd_setup(settings)
        client = AirflowClient(settings)
        client.wait_for_dag()
        evenings = sorted(
            {
                next_tick(e["at"])
                for e in server.dataset.publication_events()  # distinct evenings
                if e["kind"] == "first" and e["period"] >= "2025-11"
            }
        )
        instant = interval_at(evenings[0])[0]  # the evening before the first of them
        server.set_clock(instant)
        catch_up = timed_run(instant, env, client)
        print(
            f"catch-up run at {instant} (2018-01 … every month out by then): {catch_up[0]:.1f} s wall, "
            f"{catch_up[1]:.1f} s in Airflow",
            flush=True,
        )
        no_change, one_month = [], []
        for evening in evenings[: args.repeat]:
            no_change.append(timed_run(instant, env, client))
            assert no_change[-1][2], "expected no change"
            instant = evening  # the evening run that finds a month published that day
            server.set_clock(instant)
            one_month.append(timed_run(instant, env, client))
            assert not one_month[-1][2], "expected a publication"
            print(
                f"  no change {no_change[-1][0]:.1f} s wall / {no_change[-1][1]:.1f} s Airflow; "
                f"one new month ({evening}) {one_month[-1][0]:.1f} / {one_month[-1][1]:.1f} s, "
                f"dbt build {one_month[-1][3]:.1f} s",
                flush=True,
            )
        nc_wall = statistics.median(run[0] for run in no_change)
        nc_dag = statistics.median(run[1] for run in no_change)
        om_wall = statistics.median(run[0] for run in one_month)
        om_dag = statistics.median(run[1] for run in one_month)
        om_dbt = statistics.median(run[3] for run in one_month)
        ok = nc_wall <= 10 and nc_wall <= om_wall / 4
        summary = [
            f"median of {len(no_change)}      wall s   Airflow s",
            f"no change           {nc_wall:7.1f}   {nc_dag:7.1f}",
            f"one new month       {om_wall:7.1f}   {om_dag:7.1f}",
            f"goal: no change <= 10 s and <= 1/4 of one new month: {nc_wall:.1f} s, "
            f"{nc_wall / om_wall:.0%} of it (wall) — {'met' if ok else 'NOT met'}",
        ]
        print("\n" + "\n".join(summary))
        started = time.monotonic()
        run_dbt(["build"], settings.warehouse_dsn, settings.home, "bench-incremental")
        incremental = time.monotonic() - started
        started = time.monotonic()
        run_dbt(["build", "--full-refresh"], settings.warehouse_dsn, settings.home, "bench-full")
        full = time.monotonic() - started
        summary.append(
            f"dbt build: one new month {om_dbt:.1f} s (median, the transform task); nothing new "
            f"{incremental:.1f} s; a full rebuild of 2018-01 … 2025-12 {full:.1f} s"
        )
        print(summary[-1])
        if args.record:
            record(
                "schedule_runs",
                "Scheduled runs: no change vs one new month (bench/schedule_runs.py)",
                "Default dataset (×1), through Airflow with `ipkpi run --at`.\n\n```\n"
                + "\n".join(summary)
                + "\n```\n",
                started_load,
            )
    finally:
        server.stop()
        services.stop_all(settings)


if __name__ == "__main__":
    main()
