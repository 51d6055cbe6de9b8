"""Issue 14, item 1: one publication at a time, whatever the route.

`airflow backfill create` runs several DAG runs at once (a backfill has its own max_active_runs),
and two `ipkpi run`s can be started together. Every run must still publish exactly the candidate
its own gate validated: attempts never overlap, dbt never collides with itself, and what
`published` holds is the digest the current publication's gate recorded.
"""

from __future__ import annotations

import os
import subprocess
import time

import psycopg
import pytest

from tests.conftest import ROOT, ipkpi

pytestmark = pytest.mark.e2e


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def wait_for_backfill(client, timeout: float = 900) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client._call("GET", "/dags/ipkpi_pipeline/dagRuns", params={"run_type": "backfill"}).json()["dag_runs"]
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        time.sleep(3)
    raise AssertionError(f"backfill runs not finished after {timeout} s: {[r['state'] for r in runs]}")


@pytest.fixture(scope="module")
def concurrent(stack, settings):
    """A fresh warehouse; a backfill of 4 daily runs at once, then two `ipkpi run`s started together."""
    from ipkpi.platform.airflow_client import AirflowClient
    from tests.mart.harness import fresh_database

    dsn = fresh_database(settings, "ipkpi_concurrent")
    env = {"IPKPI_WAREHOUSE_DSN": dsn, "IPKPI_FIRST_MONTH": "2025-01"}
    client = AirflowClient(settings)
    # earlier tests' runs and backfills: ended, then gone
    for backfill in client._call("GET", "/backfills", params={"dag_id": "ipkpi_pipeline"}).json()["backfills"]:
        if not backfill.get("completed_at"):
            client._call("PUT", f"/backfills/{backfill['id']}/cancel")
    for run in client._call("GET", "/dags/ipkpi_pipeline/dagRuns", params={"limit": 1000}).json()["dag_runs"]:
        if run["state"] in ("queued", "running"):
            client._call("PATCH", f"/dags/ipkpi_pipeline/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
        if run["run_type"] == "backfill" or run["state"] in ("queued", "running"):
            client._call("DELETE", f"/dags/ipkpi_pipeline/dagRuns/{run['dag_run_id']}")
    setup = ipkpi("setup", env=env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    # 2025-06-01 … 05: four daily runs, each asking for the months due then (2025-01 … 2025-05)
    created = ipkpi(
        "airflow",
        "backfill",
        "create",
        "--dag-id",
        "ipkpi_pipeline",
        "--from-date",
        "2025-06-01",
        "--to-date",
        "2025-06-05",
        "--max-active-runs",
        "4",
        env=env,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    backfill = wait_for_backfill(client)
    command = [str(ROOT / ".venv" / "bin" / "ipkpi"), "run"]
    both = [
        subprocess.Popen(
            [*command, "--from", first, "--to", last],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
        for first, last in (("2025-06", "2025-07"), ("2025-08", "2025-09"))
    ]
    outputs = [(p.wait(timeout=1200), *p.communicate()) for p in both]
    yield {"dsn": dsn, "backfill": backfill, "runs": outputs}
    for run in backfill:  # Airflow as the tests after expect it: no backfill of ours, the default warehouse
        client._call("DELETE", f"/dags/ipkpi_pipeline/dagRuns/{run['dag_run_id']}")
    ipkpi("setup")


def test_no_log_server_listens(concurrent, settings):
    """The scheduler's log server would listen on every interface: it is not started."""
    import socket

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", settings.airflow_port + 1)) != 0


def test_every_route_succeeds(concurrent):
    assert len(concurrent["backfill"]) == 4
    assert [r["state"] for r in concurrent["backfill"]] == ["success"] * 4
    for code, out, err in concurrent["runs"]:
        assert code == 0, out + err


def test_attempts_never_overlap_and_none_failed(concurrent):
    attempts = rows(
        concurrent["dsn"],
        "SELECT publication_id, started_at, finished_at, status FROM audit.publication_log ORDER BY started_at",
    )
    assert attempts and {status for *_, status in attempts} == {"published"}, attempts
    for (_, _, finished, _), (later, started, _, _) in zip(attempts, attempts[1:]):
        assert finished <= started, f"{later} began before the attempt before it finished"
    assert rows(concurrent["dsn"], "SELECT count(*) FROM audit.publication_lock") == [(0,)]
    # the runs that added months published; the months reached `published`
    assert len(attempts) >= 3
    assert rows(concurrent["dsn"], "SELECT max(period) FROM published.source_months WHERE is_available") == [
        ("2025-09",)
    ]


def test_published_is_what_its_own_gate_validated(concurrent):
    from ipkpi.pipeline.publish import candidate_digest

    dsn = concurrent["dsn"]
    ((current, validated, candidate),) = rows(
        dsn,
        "SELECT publication_id, detail -> 'validated' ->> 'digest', detail -> 'validated' ->> 'candidate' "
        "FROM audit.publication_log WHERE status = 'published' ORDER BY finished_at DESC LIMIT 1",
    )
    with psycopg.connect(dsn) as conn:
        assert candidate_digest(conn, "published") == validated
    assert rows(dsn, "SELECT DISTINCT publication_id FROM published.kpi_values") == [(current,)]
    from ipkpi.pipeline.publish import candidate_schema

    assert candidate == candidate_schema(current)
    # every publication was validated by its own gate, and no candidate is left behind but blocked ones
    assert rows(
        dsn,
        "SELECT count(*) FROM audit.publication_log WHERE status = 'published' "
        "AND detail -> 'validated' ->> 'candidate' IS DISTINCT FROM "
        "'candidate_' || regexp_replace(lower(publication_id), '[^a-z0-9]+', '_', 'g')",
    ) == [(0,)]
    assert rows(dsn, "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'candidate_')") == []


def test_no_restart_under_an_active_run_and_run_follows_through_a_crash(concurrent, settings):
    """While a run is active, a shell with other settings cannot restart Airflow under it (exit 4,
    naming the run); an api-server killed meanwhile is replaced alone, and `ipkpi run` follows the
    run through the outage to its real end."""
    import json
    import os
    import signal

    from ipkpi.platform.services import running_pid

    env = {"IPKPI_WAREHOUSE_DSN": concurrent["dsn"], "IPKPI_FIRST_MONTH": "2025-01"}
    command = [str(ROOT / ".venv" / "bin" / "ipkpi"), "run", "--from", "2025-10", "--to", "2025-10"]
    run = subprocess.Popen(
        command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env}
    )
    line = run.stdout.readline()
    while not line.startswith("triggered"):
        assert line, run.stderr.read()
        line = run.stdout.readline()
    run_id = line.split()[1]
    other = {**env, "AIRFLOW_CONN_IPKPI_POLICE": json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9"})}
    refused = ipkpi("setup", env=other)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert run_id in refused.stderr and "not restarting" in refused.stderr
    scheduler = running_pid(settings, "airflow-scheduler")
    os.kill(running_pid(settings, "airflow-api-server"), signal.SIGKILL)
    time.sleep(2)
    assert ipkpi("setup", env=env).returncode == 0
    assert running_pid(settings, "airflow-scheduler") == scheduler  # the run's scheduler went on
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, out + err
    assert "does not answer" in out and "published" in out
