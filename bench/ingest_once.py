"""One ingestion as a fresh Python process: the ipkpi side of bench/ingest_throughput.py.

    IPKPI_BENCH_DSN=… IPKPI_BENCH_SANDBOX_URL=… IPKPI_BENCH_KEY=… python bench/ingest_once.py SOURCE FIRST LAST

What an Airflow worker does for one ingestion task, from a cold interpreter: import the project
(psycopg, requests, pyarrow, numpy, calamine… as the connector needs them), connect, fetch,
archive, parse, validate and COPY the months. The parent times the whole process (start-up
included); this prints, as one JSON line, the seconds of `ingest_months` alone, after the imports
(start-up excluded: the interpreter, the imports, reading the arguments). The DSN and the key
come in the environment, never on the command line (`ps` shows arguments).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.http import Endpoint
from ingest.registry import SOURCES, connector
from ingest.runner import ingest_months
from ipkpi.pipeline.steps import month_bounds, months_in_interval

# The libraries a connector may import lazily, inside its first parse: imported here so that
# "without start-up" leaves every import out (whichever of them this checkout's readers use).
# Not pandas: pyarrow imports it on its first use where it is installed (≈ 0.7–1.5 s on this
# machine), unless the reader keeps it from doing so, as ingest.columnar does; the JSON
# line names every package first imported during `ingest_months` ("imported"), so a reader that
# starts importing pandas (or anything else) again shows up there, its cost inside "seconds".
# Not openpyxl either (0.24 s): no reader has used it since customs went to calamine.
LAZY = (
    "pyarrow",
    "pyarrow.csv",
    "pyarrow.compute",
    "numpy",
    "python_calamine",
    "orjson",
    "ingest.columnar",
)


def main() -> None:
    source, first, last = sys.argv[1:4]
    connector(source)
    for module in LAZY:
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    months = months_in_interval(*month_bounds(first, last))
    conn_id = SOURCES[source]
    endpoint = Endpoint(conn_id, os.environ["IPKPI_BENCH_SANDBOX_URL"], os.environ["IPKPI_BENCH_KEY"])
    before = set(sys.modules)
    started = time.perf_counter()
    report = ingest_months(source, months, os.environ["IPKPI_BENCH_DSN"], endpoint, run_id="bench")
    elapsed = time.perf_counter() - started
    imported = sorted({name.partition(".")[0] for name in set(sys.modules) - before})
    loaded = [m for m in report.months if m.outcome == "loaded"]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": sum(m.rows for m in report.months),
                "quarantined": sum(m.quarantined for m in report.months),
                "months_loaded": len(loaded),
                "months": len(report.months),
                "imported": imported,
            }
        )
    )


if __name__ == "__main__":
    main()
