"""Benchmark: ingestion throughput per feed against `psql \\copy` and dlt, the three run side by side.

    bash bench/setup_dlt_venv.sh                                   # once: the dlt side's own venv
    .venv/bin/python bench/ingest_throughput.py --scale 100 [--record]
    .venv/bin/python bench/ingest_throughput.py --scale 1000 [--record]
    .venv/bin/python bench/ingest_throughput.py --scale 1000 --source police --from 2020-01 --to 2020-12

Three sides, each a fresh process timed whole (start-up included) and, in the same run, the part
of it that does the load (start-up excluded):
- **ipkpi**: bench/ingest_once.py — a cold interpreter imports the project (psycopg, requests,
  pyarrow, numpy, calamine… what the feed's reader needs), then `ingest_months` fetches from the
  sandbox, archives every payload, parses, validates (quarantine) and COPYs into an emptied raw
  layer. Without start-up: `ingest_months` alone, after every import (bench/ingest_once.py LAZY).
- **`psql \\copy`** of the same rows, already normalised (the raw table after ipkpi's load,
  exported as CSV) into an empty copy of the table. Without start-up: the time psql's own
  `\\timing` reports for the `\\copy` (the connection and psql's start-up left out).
- **dlt** in its fastest Postgres configuration, run by this bench in the same run: the same
  normalised rows as an Arrow table (exported with the table's column types), loaded by
  `pipeline.run(table, loader_file_format="parquet")`, which dlt carries out through ADBC
  (bench/dlt_load.py, in the bench-only venv bench/dlt-venv: `bash bench/setup_dlt_venv.sh`;
  not a project dependency). Without start-up: `pipeline.run` alone (after `import dlt` and
  reading the Arrow file). dlt does no validation, quarantine or archive.
Where the seconds go: for each side's best run, the CPU seconds of the side's own process, of the
Postgres cluster (the postmaster's reaped backends and its live processes) and, for ipkpi, of the
sandbox serving it. On two cores a run cannot take less wall time than half its CPU seconds, so
this is the floor a feed's ratio can reach while the agency, the loader and Postgres share them.
Each side runs `--repeat` times (default 3), taking turns (ipkpi, \\copy, dlt, ipkpi, …), and
the best time counts (as timeit does: the noise of a shared machine only ever adds time).

The sandbox (a separate process, at `--scale` × the default volume) generates its data outside
the timed runs: every month of the feed is fetched once beforehand, so it serves from its cache.

Goals (issue 17), on the start-up-included figures: every feed ≥ 50 % of `\\copy` at ×100;
the CSV feeds (police, finance) ≥ 80 % at ×1000; every feed ahead of dlt. "% of \\copy" is
\\copy's seconds / ipkpi's seconds (100 % = as fast as \\copy); "vs dlt" is dlt's seconds /
ipkpi's (above 1.00× = ahead of dlt).

Months: ×100 defaults to the year 2020 (the months issue 17 was measured on; ≈ 37,000 police
rows). ×1000 defaults to 2020-01…2020-03, a quarter: ≈ 90,000 police rows, enough that psql's
start-up is a few percent of `\\copy`, while a full ×1000 run (6 feeds × 3 sides × 3 repeats plus
the sandbox generating a quarter of ×1000 data) stays near a quarter of an hour on 2 cores; a
whole year (`--from 2020-01 --to 2020-12`) takes about four times as long.

`--record` replaces this scale's section of bench/RESULTS.md (bench/results.py).
Uses its own state directory (var/bench) and ports (bench/state.py), never `make run`'s stack.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.state import use_own_state  # noqa: E402 - the path first

use_own_state("bench", pg_port=25732, sandbox_port=29101)

CSV_FEEDS = ("police", "finance")  # the exports SOURCES.md describes as CSV: the ×1000 goal names them
GOAL_ALL_X100 = 0.50
GOAL_CSV_X1000 = 0.80
DEFAULT_MONTHS = {100: ("2020-01", "2020-12"), 1000: ("2020-01", "2020-03")}
DLT_PYTHON = ROOT / "bench" / "dlt-venv" / "bin" / "python"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--from", dest="first")
    parser.add_argument("--to", dest="last")
    parser.add_argument("--source", action="append", help="a feed (repeatable); default: every feed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dlt", action="store_true", help="leave the dlt side out")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()
    first, last = DEFAULT_MONTHS.get(args.scale, DEFAULT_MONTHS[100])
    first, last = args.first or first, args.last or last
    # one section of bench/RESULTS.md per scale, and apart from it one per other month range or feed list
    section, title = f"ingest_throughput_x{args.scale}", f"Ingest throughput ×{args.scale} (bench/ingest_throughput.py)"
    if (first, last) != DEFAULT_MONTHS.get(args.scale, DEFAULT_MONTHS[100]) or args.source:
        section += f"_{first}_{last}" + "".join(f"_{s}" for s in args.source or [])
        title = title.replace(
            " (bench", f", {first} … {last}" + (f", {', '.join(args.source)}" if args.source else "") + " (bench"
        )
    if not args.no_dlt and not DLT_PYTHON.exists():
        raise SystemExit("the dlt side needs its venv: bash bench/setup_dlt_venv.sh (or --no-dlt)")

    import psutil
    import psycopg

    from bench.results import load_average, record
    from ingest.registry import SOURCES, connector
    from ingest.store import empty_raw_layer
    from ipkpi.pipeline.steps import month_bounds, months_in_interval
    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services
    from ipkpi.platform.config import Settings

    started_load = load_average()
    settings = Settings.from_env()
    services.ensure_postgres(settings)
    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi OWNER ipkpi_owner")
    dsn = settings.warehouse_dsn
    init_warehouse(dsn, settings)
    months = months_in_interval(*month_bounds(first, last))
    # the cheapest feeds first (the CSV feeds, which the ×1000 goal names, among them), so a long
    # run that has to be cut short has measured the most feeds
    sources = args.source or sorted(SOURCES, key=lambda s: (s not in CSV_FEEDS, s in ("court", "amr_cases"), s))

    sandbox = subprocess.Popen(
        services.sandbox_argv(settings, extra=("--scale", str(args.scale))),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    results = []
    try:
        if "listening" not in (line := sandbox.stdout.readline()):  # e.g. its port still held
            raise SystemExit(
                f"the sandbox did not start on port {settings.sandbox_port}: {line.strip() or 'no output'}"
            )
        sandbox_cpu = psutil.Process(sandbox.pid)
        postgres = Postgres(services.pg_data_dir(settings))
        keys = settings.secrets["sandbox"]
        print(
            f"ingest throughput, sandbox scale ×{args.scale}, months {months[0]} … {months[-1]}, "
            f"best of {args.repeat}\n",
            flush=True,
        )
        for source in sources:
            key = keys[SOURCES[source].removeprefix("ipkpi_")]
            warmed = warm_up(source, months, settings.sandbox_url, key)
            env = {
                **os.environ,
                "IPKPI_BENCH_DSN": dsn,
                "IPKPI_BENCH_SANDBOX_URL": settings.sandbox_url,
                "IPKPI_BENCH_KEY": key,
            }
            table = connector(source).raw_table
            best = {side: [float("inf"), float("inf")] for side in ("ipkpi", "copy", "dlt")}  # [with, without]
            rows, exported, dlt_info = None, None, {}
            cpu: dict[str, dict[str, float]] = {}  # side -> where its best run's CPU seconds went
            with tempfile.TemporaryDirectory(prefix="ipkpi-bench-") as tmp:
                tmp = Path(tmp)
                for _ in range(args.repeat):  # the sides take turns, so a slow spell hits them alike
                    empty_raw_layer(dsn)
                    meter = CpuMeter(postgres, sandbox_cpu)
                    whole, child = timed(
                        [sys.executable, str(ROOT / "bench" / "ingest_once.py"), source, first, last], env
                    )
                    if whole < best["ipkpi"][0]:  # the CPU seconds of the best run, the sandbox's among them
                        cpu["ipkpi"] = meter.read()
                    keep_best(best["ipkpi"], whole, child["seconds"])
                    rows = child["rows"]
                    if exported is None:  # the normalised rows, once: what \copy and dlt load
                        exported = export_rows(dsn, table, tmp)
                    meter = CpuMeter(postgres)
                    whole, inner = psql_copy(dsn, table, exported[0])
                    if whole < best["copy"][0]:
                        cpu["copy"] = meter.read()
                    keep_best(best["copy"], whole, inner)
                    if not args.no_dlt:
                        meter = CpuMeter(postgres)
                        whole, dlt_info = dlt_load(dsn, table, exported[1], tmp, env)
                        if whole < best["dlt"][0]:
                            cpu["dlt"] = meter.read()
                        keep_best(best["dlt"], whole, dlt_info["seconds"])
            result = {
                "feed": source,
                "rows": rows,
                "warm_up_s": warmed,
                "cpu_s": cpu,
                **{f"{side}_s": b[0] for side, b in best.items()},
                **{f"{side}_inner_s": b[1] for side, b in best.items()},
            }
            if dlt_info:
                result["dlt_formats"] = sorted(set(dlt_info.get("job_formats", [])))
                result["dlt_version"] = dlt_info.get("dlt")
            results.append(result)
            print(row_line(result), flush=True)
            if args.record and len(results) < len(sources):  # a run cut short keeps the feeds it finished
                record(
                    section,
                    title,
                    f"PARTIAL: {len(results)} of {len(sources)} feeds so far "
                    f"({', '.join(sources[len(results) :])} still to come).\n\n"
                    + report(results, args.scale, months, args.repeat),
                    started_load,
                )
    finally:
        sandbox.terminate()
        sandbox.wait()
        services.stop_postgres(settings)

    block = report(results, args.scale, months, args.repeat)
    print("\n" + block)
    if args.record:
        record(section, title, block, started_load)


class Postgres:
    """The bench's Postgres cluster, for its CPU seconds: its postmaster's own and reaped children's
    (every backend that exited: a side's connections close before its process ends), plus the
    processes still alive (checkpointer, WAL writer, a backend not yet gone)."""

    def __init__(self, data_dir: Path):
        import psutil

        self.postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))

    def cpu_seconds(self) -> float:
        import psutil

        t = self.postmaster.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in self.postmaster.children():
            try:
                c = child.cpu_times()
            except psutil.Error:  # exited since the listing: counted in the postmaster's reaped children
                continue
            total += c.user + c.system
        return total


class CpuMeter:
    """CPU seconds from now to ``read()``: the side's child process (this process's reaped
    children), Postgres, and the sandbox when given."""

    def __init__(self, postgres: Postgres, sandbox=None):
        self.postgres, self.sandbox = postgres, sandbox
        self.before = self._now()

    def _now(self) -> dict[str, float]:
        import resource

        own = resource.getrusage(resource.RUSAGE_CHILDREN)
        now = {"process": own.ru_utime + own.ru_stime, "postgres": self.postgres.cpu_seconds()}
        if self.sandbox is not None:
            t = self.sandbox.cpu_times()
            now["sandbox"] = t.user + t.system
        return now

    def read(self) -> dict[str, float]:
        after = self._now()
        return {k: after[k] - self.before[k] for k in after}


def warm_up(source: str, months: list[str], sandbox_url: str, key: str) -> float:
    """Fetch every month once, unrecorded, so the sandbox has generated and cached its payloads
    before anything is timed. Seconds taken (the sandbox's generation, reported apart)."""
    from ingest.http import Endpoint, FeedClient
    from ingest.registry import SOURCES, connector

    started = time.perf_counter()
    # the sandbox may take minutes to generate a ×1000 window on a loaded machine: a long read time-out
    client = FeedClient(Endpoint(SOURCES[source], sandbox_url, key), timeout=(10.0, 1800.0))
    try:
        for period in months:
            connector(source).fetch(client, period, etag=None)
    finally:
        client.close()
    return time.perf_counter() - started


def timed(argv: list[str], env: dict) -> tuple[float, dict]:
    """Run a child process; its wall-clock seconds (start-up included) and its JSON line."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{argv[1]} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def keep_best(best: list[float], whole: float, inner: float) -> None:
    best[0], best[1] = min(best[0], whole), min(best[1], inner)


def export_rows(dsn: str, table: str, tmp: Path) -> tuple[Path, Path]:
    """The rows ipkpi loaded, normalised: as CSV (for \\copy) and as an Arrow IPC file with the
    table's column types (for dlt), so both peers load exactly what ipkpi loaded."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pcsv

    csv_path, arrow_path = tmp / "rows.csv", tmp / "rows.arrow"
    schema, name = table.split(".")
    with psycopg.connect(dsn, autocommit=True) as conn:
        with csv_path.open("wb") as f, conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                f.write(block)
        columns = conn.execute(
            """SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns
               WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
            (schema, name),
        ).fetchall()
        conn.execute("SET TimeZone = 'UTC'")
        select = ", ".join(  # timestamps as plain UTC text, which Arrow's CSV reader parses
            f"to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" if t == "timestamp with time zone" else c
            for c, t, _, _ in columns
        )
        typed_csv = tmp / "typed.csv"
        with (
            typed_csv.open("wb") as f,
            conn.cursor().copy(f"COPY (SELECT {select} FROM {table}) TO STDOUT (FORMAT csv)") as copy,
        ):
            for block in copy:
                f.write(block)
    types = {c: arrow_type(t, p, s) for c, t, p, s in columns}
    names = [c for c, *_ in columns]
    rows = pcsv.read_csv(
        typed_csv,
        read_options=pcsv.ReadOptions(column_names=names),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    rows = rows.cast(
        pa.schema(
            [pa.field(c, pa.timestamp("us", tz="UTC") if pa.types.is_timestamp(types[c]) else types[c]) for c in names]
        )
    )
    with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows)
    typed_csv.unlink()
    return csv_path, arrow_path


def arrow_type(pg_type: str, precision: int | None, scale: int | None):
    import pyarrow as pa

    if pg_type == "numeric":  # unconstrained numeric: 38 digits, 10 after the point
        return pa.decimal128(precision, scale) if precision else pa.decimal128(38, 10)
    return {
        "text": pa.string(),
        "integer": pa.int32(),
        "bigint": pa.int64(),
        "smallint": pa.int16(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us"),
        "double precision": pa.float64(),
        "jsonb": pa.string(),
    }[pg_type]


def psql_copy(dsn: str, table: str, rows_csv: Path) -> tuple[float, float]:
    """`psql \\copy` of the rows into an empty copy of the table: wall seconds of the psql process
    (start-up and connection included) and the `\\copy` alone (psql's `\\timing`)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_target")
        conn.execute(f"CREATE TABLE bench_copy_target (LIKE {table} INCLUDING ALL)")
    params = conninfo_to_dict(dsn)  # in the environment, not on the command line
    env = {
        **os.environ,
        "PGHOST": str(params["host"]),
        "PGPORT": str(params["port"]),
        "PGUSER": str(params["user"]),
        "PGPASSWORD": str(params["password"]),
        "PGDATABASE": str(params["dbname"]),
    }
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    started = time.perf_counter()
    done = subprocess.run(
        [
            psql,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "\\timing on",
            "-c",
            f"\\copy bench_copy_target FROM '{rows_csv}' (FORMAT csv)",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    whole = time.perf_counter() - started
    timing = re.findall(r"Time: ([\d.]+) ms", done.stdout)
    if not timing:
        raise SystemExit(f"psql printed no \\timing for the \\copy: {done.stdout!r}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_copy_target")
    return whole, float(timing[-1]) / 1000


def dlt_load(dsn: str, table: str, rows_arrow: Path, tmp: Path, env: dict) -> tuple[float, dict]:
    """dlt's run into a fresh dataset (schema bench_dlt, its pipeline state forgotten)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_dlt CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS bench_dlt_staging CASCADE")
    workdir = tmp / "dlt"
    shutil.rmtree(workdir, ignore_errors=True)
    whole, info = timed(
        [str(DLT_PYTHON), str(ROOT / "bench" / "dlt_load.py"), str(rows_arrow), table.split(".")[1], str(workdir)],
        {**env, "DLT_DATA_DIR": str(tmp / "dlt-home")},
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        loaded = conn.execute(f"SELECT count(*) FROM bench_dlt.{table.split('.')[1]}").fetchone()[0]
        conn.execute("DROP SCHEMA bench_dlt CASCADE")
    if loaded != info["rows"]:
        raise SystemExit(f"dlt loaded {loaded} rows of {info['rows']} into bench_dlt.{table.split('.')[1]}")
    return whole, info


def ratio(peer_s: float, ipkpi_s: float) -> float:
    return peer_s / ipkpi_s if ipkpi_s and peer_s != float("inf") else float("nan")


def row_line(r: dict) -> str:
    return (
        f"{r['feed']:<15}{r['rows']:>10,}  with start-up: ipkpi {r['ipkpi_s']:.2f} s, \\copy {r['copy_s']:.2f} s, "
        f"dlt {r['dlt_s']:.2f} s; without: ipkpi {r['ipkpi_inner_s']:.2f} s, \\copy {r['copy_inner_s']:.2f} s, "
        f"dlt {r['dlt_inner_s']:.2f} s (sandbox warm-up {r['warm_up_s']:.1f} s)"
    )


def report(results: list[dict], scale: int, months: list[str], repeat: int) -> str:
    """The Markdown table (printed, and recorded with --record) and the goals' verdicts."""
    lines = [
        f"Sandbox ×{scale}, months {months[0]} … {months[-1]}, best of {repeat}, sides alternating. "
        "Seconds; `% \\copy` = \\copy s / ipkpi s; `vs dlt` = dlt s / ipkpi s (> 1.00× = ipkpi ahead).",
        "",
        "| feed | rows | ipkpi s | \\copy s | dlt s | % \\copy | vs dlt | ipkpi s (no start-up) | \\copy s "
        "(no start-up) | dlt s (no start-up) | % \\copy (no start-up) | vs dlt (no start-up) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def s(x: float) -> str:
        return "—" if x == float("inf") else f"{x:.2f}"

    def times(x: float) -> str:
        return "—" if x != x else f"{x:.2f}×"

    for r in results:
        lines.append(
            f"| {r['feed']} | {r['rows']:,} | {s(r['ipkpi_s'])} | {s(r['copy_s'])} | {s(r['dlt_s'])} | "
            f"{ratio(r['copy_s'], r['ipkpi_s']):.0%} | {times(ratio(r['dlt_s'], r['ipkpi_s']))} | "
            f"{s(r['ipkpi_inner_s'])} | {s(r['copy_inner_s'])} | {s(r['dlt_inner_s'])} | "
            f"{ratio(r['copy_inner_s'], r['ipkpi_inner_s']):.0%} | {times(ratio(r['dlt_inner_s'], r['ipkpi_inner_s']))} |"
        )
    lines.append("")
    goals = []
    for r in results:
        of_copy, vs_dlt = ratio(r["copy_s"], r["ipkpi_s"]), ratio(r["dlt_s"], r["ipkpi_s"])
        wanted = GOAL_ALL_X100 if scale <= 100 else (GOAL_CSV_X1000 if r["feed"] in CSV_FEEDS else None)
        verdicts = []
        if wanted is not None:
            verdicts.append(f"≥ {wanted:.0%} of \\copy: {of_copy:.0%} {'met' if of_copy >= wanted else 'NOT met'}")
        if vs_dlt == vs_dlt:  # not NaN: dlt ran
            verdicts.append(f"ahead of dlt: {vs_dlt:.2f}× {'met' if vs_dlt > 1 else 'NOT met'}")
        goals.append(f"- {r['feed']}: " + "; ".join(verdicts))
    lines += [
        "Goals (start-up included on every side):",
        *goals,
        "",
        "CPU seconds of each side's best run (process / Postgres / sandbox) and the wall-time floor they set "
        "on two cores (their sum / 2): ipkpi's process fetches, archives, parses, checks and copies; "
        "its Postgres keeps every payload besides the rows. The sandbox serves from its warm cache, but "
        "on the same two cores: its seconds are inside ipkpi's time, as an agency's server's would not be.",
        "",
        "| feed | ipkpi: process | Postgres | sandbox | floor s | \\copy: psql | Postgres | floor s "
        "| dlt: process | Postgres | floor s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = []
        for side, parts in (
            ("ipkpi", ("process", "postgres", "sandbox")),
            ("copy", ("process", "postgres")),
            ("dlt", ("process", "postgres")),
        ):
            c = r["cpu_s"].get(side)  # dlt's is absent under --no-dlt
            if c:
                cells += [f"{c[p]:.2f}" for p in parts] + [f"{sum(c.values()) / 2:.2f}"]
            else:
                cells += ["—"] * (len(parts) + 1)
        lines.append(f"| {r['feed']} | " + " | ".join(cells) + " |")
    lines.append("")
    dlt = next((r for r in results if r.get("dlt_version")), None)
    if dlt:
        lines.append(
            f"dlt {dlt['dlt_version']} (bench/dlt-venv), the rows' load jobs in {', '.join(dlt['dlt_formats'])} "
            "(through ADBC; dlt's own state tables go as insert_values). Sandbox warm-up (its data generation, not timed): "
            + ", ".join(f"{r['feed']} {r['warm_up_s']:.1f} s" for r in results)
            + "."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill`: stop the sandbox and servers it started
    main()
