"""dlt's fastest Postgres configuration, as a fresh process: the dlt side of bench/ingest_throughput.py.

    IPKPI_BENCH_DSN=… bench/dlt-venv/bin/python bench/dlt_load.py ROWS.arrow TABLE WORKDIR

Runs in bench/dlt-venv (bench/setup_dlt_venv.sh), never in the project's venv. Reads the rows
ipkpi normalised (an Arrow IPC file the parent exported from the raw table, with the table's
column types) and loads them with `pipeline.run(table, loader_file_format="parquet")` into
Postgres: dlt writes the Arrow table to parquet and, with adbc-driver-postgresql installed,
loads it through ADBC (its documented fast path for Arrow data into Postgres). No validation,
quarantine or archive: a pure load. The parent times the whole process (start-up included:
the interpreter, `import dlt`, reading the file); this prints, as one JSON line, the seconds of
`pipeline.run` alone and which loader dlt used.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    rows_file, table_name, workdir = sys.argv[1:4]
    import dlt
    import pyarrow.ipc

    os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = os.environ["IPKPI_BENCH_DSN"]
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    with pyarrow.ipc.open_file(rows_file) as reader:
        table = reader.read_all()
    pipeline = dlt.pipeline(
        pipeline_name="ipkpi_bench", destination="postgres", dataset_name="bench_dlt", pipelines_dir=workdir
    )
    started = time.perf_counter()
    info = pipeline.run(table, table_name=table_name, loader_file_format="parquet", write_disposition="append")
    elapsed = time.perf_counter() - started
    jobs = [
        job.job_file_info.file_format
        for package in info.load_packages
        for job in package.jobs["completed_jobs"]
        if job.job_file_info.table_name == table_name
    ]  # the rows' job, not dlt's own state tables
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": table.num_rows,
                "dlt": dlt.__version__,
                "job_formats": jobs,
                "adbc": _adbc_available(),
            }
        )
    )


def _adbc_available() -> bool:
    try:
        import adbc_driver_postgresql  # noqa: F401 - dlt's parquet loader for Postgres uses it when present
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
