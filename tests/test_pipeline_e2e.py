"""Issue 3 end to end: `ipkpi run` through real Airflow runs, publishes, re-runs, takes its
configuration from the calling shell, fails naming the source; the standard backfill route."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from tests.conftest import ipkpi

pytestmark = pytest.mark.e2e


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def current_publication(dsn: str) -> str | None:
    found = rows(dsn, "SELECT DISTINCT publication_id FROM published.kpi_values")
    assert len(found) <= 1, "a publication is one id on every row"
    return found[0][0] if found else None


@pytest.fixture(scope="module")
def first_run(stack):
    result = ipkpi("run", "--from", "2018-01", "--to", "2020-12")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_run_publishes_the_range(first_run, settings):
    dsn = settings.warehouse_dsn
    assert "published 2018-01 … 2020-12" in first_run.stdout
    assert "ingest_customs" in first_run.stdout and "success" in first_run.stdout  # progress is shown
    publication = current_publication(dsn)
    assert publication and publication in first_run.stdout
    assert rows(dsn, "SELECT status FROM published.publication_log WHERE publication_id = %s", (publication,)) == [
        ("published",)
    ]
    # every month of the range was fetched from every source
    per_source = dict(
        rows(
            dsn,
            "SELECT source, count(*) FROM raw.source_months "
            "WHERE period BETWEEN '2018-01' AND '2020-12' GROUP BY source",
        )
    )
    from ingest.registry import SOURCES

    assert per_source == {s: 36 for s in SOURCES}
    # the seeds' customs figure for 2018–2020 (the 龙腾 actions): 1,774 batches
    ((batches,),) = rows(
        dsn,
        "SELECT sum(value) FROM published.kpi_values WHERE kpi_code = 'customs_seizure_batches' "
        "AND grain = 'year' AND region_code = '330200' AND period IN ('2018','2019','2020')",
    )
    assert batches == 1774
    # every published customs figure of the range — months and years, city and districts — equals the
    # sandbox's own rows summed independently (sandbox/oracle.py; customs months never change later)
    from sandbox import Dataset
    from sandbox.oracle import compute
    from tests.mart import harness

    customs = ("customs_seizure_batches", "customs_seizure_items", "customs_seizure_value")
    in_range = lambda key: key[0] in customs and key[2][:4] in ("2018", "2019", "2020")  # noqa: E731
    expected = {k: v for k, v in compute(Dataset()).values.items() if in_range(k)}
    published = {k: v for k, v in harness.kpi_values(dsn, schema="published").items() if in_range(k)}
    assert len(expected) >= 3 * 3 * 13 and set(published) == set(expected)
    assert all(harness.same(published[k], v) for k, v in expected.items())  # counts and 元: exact
    # the headline table is printed
    assert "Headline KPIs" in first_run.stdout and "ipkpi dsn" in first_run.stdout


def test_rerun_refetches_without_duplicating_and_publishes_nothing_new(first_run, settings):
    """The same range again: every month re-asked (fetch log grows), nothing loaded twice, and since
    nothing changed, no build and no new publication ("no change")."""
    dsn = settings.warehouse_dsn
    before_pub = current_publication(dsn)
    fetches = rows(dsn, "SELECT count(*) FROM raw.fetches")[0][0]
    attempts = rows(dsn, "SELECT count(*) FROM audit.publication_log")
    counts = (
        "SELECT (SELECT count(*) FROM raw.customs_seizures), (SELECT count(*) FROM raw.loads), "
        "(SELECT count(*) FROM raw.court_cases), (SELECT count(*) FROM quarantine.rows)"
    )
    before = rows(dsn, counts)
    values = "SELECT kpi_code, grain, period, region_code, value FROM published.kpi_values ORDER BY 1, 2, 3, 4"
    before_values = rows(dsn, values)
    result = ipkpi("run", "--from", "2018-01", "--to", "2020-12")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no change" in result.stdout and "transform" in result.stdout and "skipped" in result.stdout
    assert rows(dsn, "SELECT count(*) FROM raw.fetches")[0][0] > fetches  # re-fetched: not a no-op
    assert current_publication(dsn) == before_pub
    assert rows(dsn, "SELECT count(*) FROM audit.publication_log") == attempts
    assert rows(dsn, counts) == before
    assert rows(dsn, values) == before_values


def test_status_shows_published_months(first_run):
    result = ipkpi("status")
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("customs"))
    assert "PPPPPPPPPPPP PPPPPPPPPPPP PPPPPPPPPPPP" in line


def test_dsn_and_the_read_only_role(first_run):
    owner = ipkpi("dsn").stdout.strip()
    reader = ipkpi("dsn", "--role", "bi_reader").stdout.strip()
    assert rows(owner, "SELECT count(*) FROM raw.loads")[0][0] > 0
    assert rows(reader, "SELECT count(*) FROM published.kpi_values")[0][0] > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows(reader, "SELECT count(*) FROM raw.loads")


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_failure_names_the_connection_alerts_and_keeps_the_publication(first_run, settings):
    before = current_publication(settings.warehouse_dsn)
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    bad = json.dumps({"conn_type": "http", "host": settings.sandbox_url, "password": "not-the-key"})
    alerts = json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{receiver.server_port}/hook", "password": "hook-token"}
    )
    try:
        result = ipkpi(
            "run",
            "--from",
            "2020-11",
            "--to",
            "2020-12",
            env={"AIRFLOW_CONN_IPKPI_POLICE": bad, "AIRFLOW_CONN_IPKPI_ALERTS": alerts},
        )
    finally:
        receiver.shutdown()
    assert result.returncode != 0
    assert "ingest_police" in result.stderr and "ipkpi_police" in result.stderr
    assert "not-the-key" not in result.stdout + result.stderr
    assert current_publication(settings.warehouse_dsn) == before
    # the on-failure callback posted a concise summary to the webhook of the alerts connection
    posted = [body for auth, body in Receiver.received if auth == "Bearer hook-token"]
    assert any(b["task_id"] == "ingest_police" and "ipkpi_police" in b["text"] for b in posted)
    assert all("not-the-key" not in json.dumps(b) for b in posted)


def test_the_calling_shell_decides_source_and_warehouse(first_run, settings):
    """Other endpoints and another warehouse, with the services already running on the defaults."""
    from ingest.registry import AGENCIES
    from sandbox import SandboxConfig, start_server

    alt_keys = {a: f"alt-{a}-key" for a in AGENCIES}
    alt = start_server("127.0.0.1", 0, SandboxConfig(credentials=alt_keys))
    admin = settings.embedded_dsn("postgres", "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi_alt WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi_alt OWNER ipkpi_owner")
    alt_dsn = settings.embedded_dsn("ipkpi_alt", "ipkpi_owner")
    env = {"IPKPI_WAREHOUSE_DSN": alt_dsn}
    for agency in AGENCIES.values():
        env[f"AIRFLOW_CONN_{agency.conn_id.upper()}"] = json.dumps(
            {"conn_type": "http", "host": alt.url, "password": alt_keys[agency.key]}
        )
    try:
        main_fetches = rows(settings.warehouse_dsn, "SELECT count(*) FROM raw.fetches")
        result = ipkpi("run", "--from", "2021-01", "--to", "2021-02", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "restarting Airflow" in result.stdout
        urls = {u for (u,) in rows(alt_dsn, "SELECT DISTINCT split_part(url, '/', 3) FROM raw.fetches")}
        assert urls == {alt.url.split("/")[2]}
        assert rows(alt_dsn, "SELECT count(*) FROM published.kpi_values WHERE left(period, 4) = '2021'")[0][0] > 0
        assert rows(settings.warehouse_dsn, "SELECT count(*) FROM raw.fetches") == main_fetches
    finally:
        alt.stop()


def test_standard_airflow_backfill_route(first_run, settings):
    """`airflow backfill create` with the scheduler running: the runs the schedule would have made
    (one a day), executed by Airflow. The run of 2021-04-19 → 20 (20:00 Asia/Shanghai) asks for the
    months due at its end — 2021-01…2021-03 are not held yet — and loads them."""
    from ipkpi.platform.airflow_client import AirflowClient

    ipkpi("setup")  # back to the default connections and warehouse
    result = ipkpi(
        "airflow",
        "backfill",
        "create",
        "--dag-id",
        "ipkpi_pipeline",
        "--from-date",
        "2021-04-19",
        "--to-date",
        "2021-04-20",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    client = AirflowClient(settings)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        runs = [
            r
            for r in client._call("GET", "/dags/ipkpi_pipeline/dagRuns", params={"run_type": "backfill"}).json()[
                "dag_runs"
            ]
            if r["data_interval_end"].startswith("2021-04-20")
        ]  # not other tests' runs
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            break
        time.sleep(3)
    assert [r["state"] for r in runs] == ["success"]
    assert rows(
        settings.warehouse_dsn, "SELECT status FROM raw.source_months WHERE source = 'customs' AND period = '2021-03'"
    ) == [("available",)]


def test_blocked_run_names_the_check_period_and_record(first_run, settings, sandbox_credentials):
    """`ipkpi run` exits non-zero when the gate blocks, naming the check, the period and the record."""
    from sandbox import SandboxConfig, start_server

    before = current_publication(settings.warehouse_dsn)
    trapped = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, traps={"customs_total_mismatch": "2020-03"})
    )
    customs = json.dumps({"conn_type": "http", "host": trapped.url, "password": sandbox_credentials["customs"]})
    try:
        result = ipkpi("run", "--from", "2020-03", "--to", "2020-03", env={"AIRFLOW_CONN_IPKPI_CUSTOMS": customs})
    finally:
        trapped.stop()
    assert result.returncode != 0
    assert "blocked" in result.stderr and "合计" in result.stderr and "period=2020-03" in result.stderr
    assert current_publication(settings.warehouse_dsn) == before
    healed = ipkpi("run", "--from", "2020-03", "--to", "2020-03")  # the agency's correct workbook again
    assert healed.returncode == 0, healed.stdout + healed.stderr
