"""Benchmark: the vintages' storage grows with revisions, not with publications (issue 15).

    .venv/bin/python bench/vintage_history.py [--publications 100] [--revisions 3] [--from 2018-01] [--to 2025-12]

Its own state directory (var/bench-vintages) and ports; a fresh warehouse. The default dataset's
backfill (2018-01 … 2025-12) is ingested and published by the pipeline's own steps (begin, the dbt
build, the gate, the swap — as the DAG calls them, without Airflow's scheduling): the first
vintage. Then ``--publications`` publications follow, each the current publication republished
through the real swap (``ipkpi.pipeline.vintages.republish``: clone, change, digest, swap) with
``--revisions`` month cells of kpi_values revised (a value + 1, and the same KPI's year cell) —
what a re-issue does to a few cells, the rest republished unchanged. Prints the size of the
vintage tables (history, revisions, publications: pg_total_relation_size, with indexes) after the
first publication and after the last, their ratio (goal ≤ 1.2), and the rows stored.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.state import use_own_state  # noqa: E402 - the path first

use_own_state("bench-vintages", pg_port=26532, sandbox_port=29551)
for name in [k for k in os.environ if k.startswith("AIRFLOW_CONN_IPKPI_") or k == "IPKPI_WAREHOUSE_DSN"]:
    del os.environ[name]  # this script decides where data comes from and goes to

GOAL = 1.2


def vintage_size(dsn: str) -> tuple[int, int]:
    """(bytes, history rows) of the vintage schema's tables."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relnamespace = 'vintage'::regnamespace AND c.relkind = 'r'"
        ).fetchone()[0]
        rows = sum(
            conn.execute(f"SELECT count(*) FROM vintage.{t}").fetchone()[0]
            for (t,) in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'vintage'::regnamespace AND relkind = 'r' "
                "AND relname LIKE '%%_history'"
            ).fetchall()
        )
    return int(size), rows


def revise(count: int, rng: random.Random):
    """A change that revises ``count`` month cells of kpi_values, and each one's year cell."""
    from psycopg import sql

    def change(conn, schema: str, publication_id: str) -> None:
        cells = conn.execute(
            sql.SQL(
                "SELECT kpi_code, period, region_code FROM {}.kpi_values "
                "WHERE grain = 'month' AND value IS NOT NULL ORDER BY 1, 2, 3"
            ).format(sql.Identifier(schema))
        ).fetchall()
        for kpi, period, region in rng.sample(cells, count):
            conn.execute(
                sql.SQL(
                    "UPDATE {}.kpi_values SET value = value + 1 WHERE kpi_code = %s AND region_code = %s "
                    "AND ((grain = 'month' AND period = %s) OR (grain = 'year' AND period = %s))"
                ).format(sql.Identifier(schema)),
                (kpi, region, period, period[:4]),
            )

    return change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publications", type=int, default=100)
    parser.add_argument("--revisions", type=int, default=3, help="month cells revised per publication")
    parser.add_argument("--from", dest="first", default="2018-01")
    parser.add_argument("--to", dest="last", default="2025-12")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()
    from bench.results import load_average, record

    started_load = load_average()

    from ipkpi.platform import services
    from ipkpi.platform.config import Settings
    from tests.mart.harness import fresh_database

    settings = Settings.from_env()
    dsn = fresh_database(settings, "ipkpi")
    started = time.monotonic()
    subprocess.run(
        [str(Path(sys.executable).with_name("ipkpi")), "ingest", "--from", args.first, "--to", args.last],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    ingested = time.monotonic() - started
    from ipkpi.pipeline import steps as pipeline

    started = time.monotonic()
    publication_id = pipeline.begin(f"{args.first}…{args.last}", force=True)
    pipeline.transform(publication_id)
    pipeline.validate(publication_id)
    pipeline.publish(publication_id)
    first_seconds = time.monotonic() - started
    first_size, first_rows = vintage_size(dsn)

    from ipkpi.pipeline.vintages import republish

    rng = random.Random(15)
    started = time.monotonic()
    for i in range(args.publications):
        republish(
            dsn,
            revise(args.revisions, rng),
            periods=f"{args.first}…{args.last}",
            fingerprint=f"bench {i}",
            detail={"bench": "vintage_history", "gate": "not run: a benchmark"},
        )
    each = (time.monotonic() - started) / max(args.publications, 1)
    size, rows = vintage_size(dsn)
    import psycopg

    with psycopg.connect(dsn) as conn:
        revisions = conn.execute("SELECT count(*) FROM vintage.revisions").fetchone()[0]
        cells = conn.execute("SELECT count(*) FROM published.kpi_values").fetchone()[0]
    services.stop_all(settings)
    ratio = size / first_size
    lines = [
        f"default dataset {args.first} … {args.last}: ingest {ingested:.0f} s, first publication "
        f"{first_seconds:.0f} s; kpi_values {cells:,} cells",
        f"after the first publication: vintage tables {first_size / 1e6:.2f} MB, {first_rows:,} history rows",
        f"after {args.publications} more publications, {args.revisions} month cells (+ their year cells) revised "
        f"in each: {size / 1e6:.2f} MB, {rows:,} history rows, {revisions:,} revisions rows; "
        f"{each:.2f} s per republication (clone, swap, vintage)",
        f"ratio {ratio:.3f} (goal ≤ {GOAL}): {'met' if ratio <= GOAL else 'NOT met'}",
    ]
    print("\n".join(lines))
    if args.record:
        record(
            "vintage_history",
            "Vintage history storage (bench/vintage_history.py)",
            "\n".join(f"- {line}" for line in lines),
            started_load,
        )


if __name__ == "__main__":
    main()
