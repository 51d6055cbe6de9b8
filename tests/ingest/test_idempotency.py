"""A task killed mid-load, then re-run, leaves no partial and no duplicate rows; re-runs leave the same state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.ingest.conftest import query

ROOT = Path(__file__).resolve().parents[2]

# Ingest one month in a child process that stops in the middle of its COPY and says so.
CHILD = textwrap.dedent("""
    import json, sys, time
    from ingest import store
    from ingest.http import Endpoint
    from ingest.runner import ingest_months

    original = store.Store._copy
    def slow_copy(self, table, columns, load_id, rows, version_key=None):
        class Half:  # the CSV exports' rows (ingest.columnar): COPY half of the text, then stall
            def __len__(inner):
                return len(rows)
            def copy_blocks(inner, load_id):
                text = b"".join(rows.copy_blocks(load_id))
                middle = text.index(b"\\n", len(text) // 2) + 1
                yield text[:middle]
                print("MIDWAY", flush=True)
                time.sleep(60)
                yield text[middle:]
        return original(self, table, columns, load_id, Half(), version_key)
    store.Store._copy = slow_copy
    args = json.loads(sys.argv[1])
    ingest_months(args["source"], [args["period"]], args["dsn"], Endpoint(**args["endpoint"]))
""")


def test_killed_mid_load_leaves_nothing_and_rerun_loads_once(raw_db, endpoint_for):
    from ingest.runner import ingest_months

    endpoint = endpoint_for("ipkpi_finance")
    args = {
        "source": "finance",
        "period": "2020-06",
        "dsn": raw_db,
        "endpoint": {"conn_id": endpoint.conn_id, "host": endpoint.host, "password": endpoint.password},
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout.readline().strip() == "MIDWAY"
    time.sleep(0.3)  # the first half of the rows is inside the open COPY
    child.send_signal(signal.SIGKILL)
    child.wait()

    assert query(raw_db, "SELECT count(*) FROM raw.finance_pledges") == [(0,)]
    assert query(raw_db, "SELECT count(*) FROM raw.loads") == [(0,)]
    # the payload itself was archived before loading began: nothing received is lost
    assert query(raw_db, "SELECT count(*) FROM raw.payloads") == [(1,)]

    report = ingest_months("finance", ["2020-06"], raw_db, endpoint)
    loaded = report.months[0].rows
    assert loaded > 0
    assert query(raw_db, "SELECT count(*), count(DISTINCT (source_page, source_row)) FROM raw.finance_pledges") == [
        (loaded, loaded)
    ]


def test_rerun_of_a_change_feed_window_adds_no_versions(raw_db, endpoint_for):
    from ingest.runner import ingest_months

    endpoint = endpoint_for("ipkpi_court")
    ingest_months("court", ["2020-05", "2020-06"], raw_db, endpoint)
    state = (
        "SELECT (SELECT count(*) FROM raw.court_cases), (SELECT count(*) FROM raw.loads), "
        "(SELECT string_agg(source || period || status || current_load_id, ',' ORDER BY period) FROM raw.source_months)"
    )
    before = query(raw_db, state)
    report = ingest_months("court", ["2020-05", "2020-06"], raw_db, endpoint)
    assert [m.outcome for m in report.months] == ["same_content", "same_content"]
    assert query(raw_db, state) == before
