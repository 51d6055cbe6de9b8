"""Benchmark: a national-scale run through Airflow, end to end — ingest, build, gate, publish.

    .venv/bin/python bench/pipeline_scale.py [--scale 100] [--from 2018-01] [--to 2025-12] [--record]

What runs: a fresh warehouse; the sandbox at `--scale` × the default volume; the project's own
Airflow (`ipkpi setup`, LocalExecutor, as `make run` starts it); then exactly what `ipkpi run
--from … --to …` does: one DAG run of ipkpi_pipeline over the range — six ingestion tasks, begin,
transform (the pipeline's own `dbt build`, incremental models, no --full-refresh), validate (the
GX gate) and publish (the swap). Goal (issue 17): 2018-01…2025-12 at ×100 end to end ≤ 15 min
on 2 cores.

What is timed: the DAG run from its trigger to its success (Airflow's own start and end dates of
each task give the phases). Not timed, reported apart: starting the services, and the sandbox
generating its data — every response the ingestion tasks will ask for is fetched once beforehand
through a recording proxy (bench/replay.py) and served from disk during the run, since the
sandbox keeps only a few months cached and would otherwise generate them again inside the
ingestion tasks' time. Misses (requests served live by the sandbox) are counted and printed.

The gate's share is validate's duration over transform's (the build the pipeline runs), both
as Airflow timed those tasks.

Peak memory: every second, the resident memory of the pipeline's processes — the Postgres
server (postmaster and every backend) and Airflow (api-server, scheduler with its LocalExecutor
workers and the task processes, dbt and GX included; dag-processor) — summed over the process
trees; both RSS (which counts shared pages, e.g. Postgres's shared buffers, once per process
touching them, so it over-states) and PSS (shared pages divided among the processes sharing them,
so the sum is what the pipeline really holds). The sandbox and the proxy (the agencies' side)
are not counted. Peaks are of the sum, sampled, so a spike shorter than a second may be missed.

Own state directory (var/bench-pipeline) and ports (bench/state.py; exports win): never
`make run`'s stack. `--record` replaces this section of bench/RESULTS.md. `--keep` leaves the
services running afterwards (for a look at the Airflow UI).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.state import use_own_state  # noqa: E402 - the path first

use_own_state("bench-pipeline", pg_port=25742, sandbox_port=29111, airflow_port=28790)

GOAL_S = 15 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--from", dest="first", default="2018-01")
    parser.add_argument("--to", dest="last", default="2025-12")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="leave Postgres and Airflow running")
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the recorded responses in this directory and reuse "
        "those already there (same scale and IPKPI_HOME: the keys include the access tokens); "
        "default: a temporary directory, removed at the end",
    )
    args = parser.parse_args()

    import json

    import psycopg

    from bench.replay import ReplayProxy
    from bench.results import load_average, record
    from ingest.http import Endpoint, FeedClient
    from ingest.registry import SOURCES, connector
    from ipkpi.cli import cmd_setup, follow, new_run_id
    from ipkpi.pipeline.schedule import EXPLICIT
    from ipkpi.pipeline.steps import month_bounds, months_in_interval
    from ipkpi.platform import services
    from ipkpi.platform.airflow_client import AirflowClient
    from ipkpi.platform.config import Settings

    started_load = load_average()
    settings = Settings.from_env()
    months = months_in_interval(*month_bounds(args.first, args.last))
    services.ensure_postgres(settings)
    if services.active_runs(settings) if services.running_pid(settings, "airflow-scheduler") else []:
        raise SystemExit("a DAG run is active on this benchmark's Airflow: wait for it, or `ipkpi stop` this home")
    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi WITH (FORCE)")  # a fresh warehouse
        conn.execute("CREATE DATABASE ipkpi OWNER ipkpi_owner")

    keys = settings.secrets["sandbox"]
    sandbox = subprocess.Popen(
        services.sandbox_argv(settings, extra=("--scale", str(args.scale))),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    store = tempfile.TemporaryDirectory(prefix="ipkpi-replay-", dir=settings.home) if not args.store else None
    store_dir = args.store or Path(store.name)
    proxy = None
    sampler = None
    try:
        if "listening" not in (line := sandbox.stdout.readline()):  # e.g. its port still held
            raise SystemExit(
                f"the sandbox did not start on port {settings.sandbox_port}: {line.strip() or 'no output'}"
            )
        proxy = ReplayProxy(settings.sandbox_url, store_dir)
        print(f"national-scale run, sandbox ×{args.scale}, months {months[0]} … {months[-1]}", flush=True)

        # 1. the sandbox generates everything once, through the recording proxy (not timed)
        started = time.perf_counter()
        for source, conn_id in SOURCES.items():
            client = FeedClient(
                Endpoint(conn_id, proxy.url, keys[conn_id.removeprefix("ipkpi_")]), timeout=(10.0, 1800.0)
            )  # generation may take minutes on a loaded machine
            try:
                for period in months:
                    connector(source).fetch(client, period, etag=None)
            finally:
                client.close()
        generation_s = time.perf_counter() - started
        proxy.recording = False
        print(f"sandbox generation (recorded through the proxy, not timed): {generation_s:.0f} s", flush=True)

        # 2. the services, with the agencies' connections on the proxy (not timed)
        for conn_id in set(SOURCES.values()):
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
                {"conn_type": "http", "host": proxy.url, "password": keys[conn_id.removeprefix("ipkpi_")]}
            )
        started = time.perf_counter()
        cmd_setup(settings)
        client = AirflowClient(settings)
        client.wait_for_dag()
        setup_s = time.perf_counter() - started
        print(f"services ready in {setup_s:.0f} s", flush=True)

        # 3. the run, as `ipkpi run --from … --to …` triggers it, timed; memory sampled meanwhile
        sampler = MemorySampler(settings)
        sampler.start()
        start, end = month_bounds(args.first, args.last)
        run_id = new_run_id(args.first, args.last)
        started = time.perf_counter()
        client.trigger(run_id, start, end, conf={"range": EXPLICIT})
        state = follow(client, run_id)
        wall_s = time.perf_counter() - started
        sampler.stop()
        tasks = {ti["task_id"]: ti for ti in client.task_instances(run_id)}
        run = client.run(run_id)
        with psycopg.connect(settings.warehouse_dsn) as conn:
            raw_rows = sum(
                conn.execute(f"SELECT count(*) FROM {connector(s).raw_table}").fetchone()[0] for s in SOURCES
            )
            published = (
                conn.execute("SELECT count(*) FROM published.kpi_values").fetchone()[0] if state == "success" else 0
            )
    finally:
        if sampler:
            sampler.stop()
        if proxy:
            proxy.stop()
        sandbox.terminate()
        sandbox.wait()
        if store:
            store.cleanup()
        if not args.keep:
            services.stop_all(settings)

    block = report(args, months, state, wall_s, tasks, run, raw_rows, published, generation_s, setup_s, sampler, proxy)
    print("\n" + block)
    if args.record:
        record("pipeline_scale", "National-scale run through Airflow (bench/pipeline_scale.py)", block, started_load)
    if state != "success":
        raise SystemExit(1)


def seconds(ti: dict) -> float | None:
    if ti.get("start_date") and ti.get("end_date"):
        return (parse(ti["end_date"]) - parse(ti["start_date"])).total_seconds()
    return None


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def report(args, months, state, wall_s, tasks, run, raw_rows, published, generation_s, setup_s, sampler, proxy) -> str:
    ingest = {t: ti for t, ti in tasks.items() if t.startswith("ingest_")}
    run_start = parse(run["start_date"]) if run.get("start_date") else None
    ingest_end = max((parse(ti["end_date"]) for ti in ingest.values() if ti.get("end_date")), default=None)
    ingest_phase = (ingest_end - run_start).total_seconds() if run_start and ingest_end else float("nan")
    build, gate = seconds(tasks.get("transform", {})), seconds(tasks.get("validate", {}))
    lines = [
        f"Sandbox ×{args.scale}, months {months[0]} … {months[-1]}, one DAG run of ipkpi_pipeline "
        f"(LocalExecutor, parallelism 4); run {state}.",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| end to end (trigger → run success) | {wall_s:.0f} s = {wall_s / 60:.1f} min "
        f"({'goal ≤ 15 min met' if wall_s <= GOAL_S else 'goal ≤ 15 min NOT met'}) |",
        f"| raw rows loaded | {raw_rows:,} |",
        f"| published.kpi_values rows | {published:,} |",
        f"| ingestion phase (run start → last ingest task's end; 6 tasks at once on 2 cores) | {ingest_phase:.0f} s |",
    ]
    for task_id, ti in sorted(ingest.items()):
        lines.append(f"| · {task_id} (task duration) | {seconds(ti) or float('nan'):.0f} s |")
    for task_id in ("begin", "transform", "validate", "publish"):
        if task_id in tasks:
            lines.append(f"| {task_id} | {seconds(tasks[task_id]) or float('nan'):.1f} s |")
    if build and gate:
        lines.append(f"| gate's share of the pipeline's own build (validate / transform) | {gate / build:.0%} |")
    lines += [
        f"| peak memory of the pipeline's processes, sum of PSS (sampled each second) | "
        f"{sampler.peak_pss / 2**30:.2f} GiB |",
        f"| · Postgres / Airflow at that peak (PSS) | {sampler.at_peak['postgres'] / 2**30:.2f} / "
        f"{sampler.at_peak['airflow'] / 2**30:.2f} GiB |",
        f"| peak memory, sum of RSS (counts shared pages once per process) | {sampler.peak_rss / 2**30:.2f} GiB |",
        f"| processes at most | {sampler.peak_processes} |",
        f"| not timed: sandbox generation (recorded through bench/replay.py) | {generation_s:.0f} s |",
        f"| not timed: services start (Postgres, Airflow) | {setup_s:.0f} s |",
        f"| requests replayed / served live by the sandbox during the run | {proxy.hits:,} / {proxy.misses:,} |",
    ]
    return "\n".join(lines) + "\n"


class MemorySampler:
    """Sum of RSS and PSS over the Postgres and Airflow process trees, every `interval` seconds."""

    def __init__(self, settings, interval: float = 1.0):
        self.settings = settings
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self.at_peak = {"postgres": 0, "airflow": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def roots(self) -> dict[str, list[int]]:
        from ipkpi.platform import services

        postmaster = []
        pid_file = services.pg_data_dir(self.settings) / "postmaster.pid"
        try:
            postmaster = [int(pid_file.read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            pass
        airflow = [
            pid
            for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor")
            if (pid := services.running_pid(self.settings, name))
        ]
        return {"postgres": postmaster, "airflow": airflow}

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            sums, rss, count = {}, 0, 0
            for group, pids in self.roots().items():
                total = 0
                for pid in pids:
                    try:
                        root = psutil.Process(pid)
                        tree = [root, *root.children(recursive=True)]
                    except psutil.Error:
                        continue
                    for proc in tree:
                        try:
                            info = proc.memory_full_info()
                        except psutil.Error:
                            continue
                        total += info.pss
                        rss += info.rss
                        count += 1
                sums[group] = total
            pss = sum(sums.values())
            if pss > self.peak_pss:
                self.peak_pss, self.at_peak = pss, sums
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, count)
            self._stop.wait(self.interval)


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill`: stop the sandbox and servers it started
    main()
