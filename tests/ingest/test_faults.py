"""Transient faults, survived: each fault kind alone, then seeded random runs at a 20 % rate after
which raw holds exactly what a fault-free run holds — no duplicates, nothing missing."""

from __future__ import annotations

import psycopg
import pytest

from ingest.http import TransientError
from ingest.registry import SOURCES, connector
from ingest.runner import ingest_months
from ingest.store import empty_raw_layer
from ipkpi.platform.config import INGEST_TASK_RETRIES
from sandbox import SandboxConfig, start_server

MONTHS = ["2020-11", "2020-12", "2021-01", "2021-02"]
# The shipped retry counts: the HTTP client's default (ingest.http.RETRIES, left as it ships) and
# the DAG's task retries (ipkpi.platform.config.INGEST_TASK_RETRIES). Only the waiting is shortened — short
# time-outs (the sandbox's time-out fault sleeps longer than the read time-out) and back-off —
# which changes how long a retry waits, not how many there are.
HTTP = {"timeout": (2.0, 1.0), "backoff": 0.05, "backoff_max": 0.5}
AIRFLOW_TRIES = INGEST_TASK_RETRIES + 1


def ingest_like_airflow(source: str, dsn: str, endpoint) -> None:
    """Run the task as the DAG does: Airflow runs it again on a transient failure, up to the
    shipped retries; a FeedError or AuthError fails it for good (ipkpi.pipeline.ingest raises
    AirflowFailException), so it is not retried here either."""
    for attempt in range(AIRFLOW_TRIES):
        try:
            ingest_months(source, MONTHS, dsn, endpoint, run_id=f"try{attempt}", http_options=HTTP)
            return
        except TransientError:
            if attempt == AIRFLOW_TRIES - 1:
                raise


def raw_fingerprint(dsn: str) -> dict[str, tuple]:
    """Per raw table: row count and a digest of its rows without load ids (which differ per run)."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for source in SOURCES:
            table = connector(source).raw_table
            cols = [c.name for c in connector(source).columns]
            digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM "
                f"(SELECT concat_ws(',', source_page, source_row, {', '.join(cols)}) AS r FROM {table}) t"
            ).fetchone()
            out[table] = digest
        out["quarantine"] = conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(concat_ws(',', source, period, source_page, source_row, reason),"
            " '|' ORDER BY source, period, source_page, source_row), '')) FROM quarantine.rows"
        ).fetchone()
        out["months"] = conn.execute(
            "SELECT count(*), md5(coalesce(string_agg(concat_ws(',', source, period, status), '|' "
            "ORDER BY source, period), '')) FROM raw.source_months"
        ).fetchone()
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT case_no, updated_at FROM raw.court_cases GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
        assert dupes == 0
    return out


def ingest_all(server, dsn, endpoint_for) -> dict:
    empty_raw_layer(dsn)
    for source, conn_id in SOURCES.items():
        ingest_like_airflow(source, dsn, endpoint_for(conn_id, server))
    return raw_fingerprint(dsn)


@pytest.fixture(scope="module", autouse=True)
def small_court_pages():
    """Pages of 40 instead of 500: the court windows then span several pages, so paging faults happen."""
    court = connector("court")
    court.page_size = 40
    yield
    court.page_size = type(court).page_size


@pytest.fixture(scope="module")
def reference(warehouse, sandbox, sandbox_credentials):
    from ingest.http import Endpoint

    def endpoint_for(conn_id, server):
        return Endpoint(conn_id, server.url, sandbox_credentials[conn_id.removeprefix("ipkpi_")])

    return ingest_all(sandbox, warehouse, endpoint_for)


def faulty(credentials, rate: float, kinds, seed: int):
    return start_server(
        "127.0.0.1",
        0,
        SandboxConfig(
            credentials=credentials,
            fault_rate=rate,
            fault_kinds=kinds,
            fault_seed=seed,
            retry_after=0,
            timeout_delay=1.5,
        ),
    )


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "reset", "timeout", "short_page"])
def test_each_fault_kind_is_survived(kind, reference, warehouse, sandbox_credentials, endpoint_for):
    server = faulty(sandbox_credentials, 0.3, (kind,), seed=7)
    try:
        assert ingest_all(server, warehouse, endpoint_for) == reference
        assert server.app.faults.injected[kind] > 0  # the fault really happened
    finally:
        server.stop()


@pytest.mark.parametrize("seed", range(20))
def test_random_faults_leave_exactly_the_records(seed, reference, warehouse, sandbox_credentials, endpoint_for):
    server = faulty(sandbox_credentials, 0.2, ("429", "500", "502", "503", "reset", "timeout", "short_page"), seed)
    try:
        assert ingest_all(server, warehouse, endpoint_for) == reference
        injected = dict(server.app.faults.injected)
        print(f"seed {seed}: faults injected {sum(injected.values())} {injected}")
        assert sum(injected.values()) > 0
    finally:
        server.stop()
