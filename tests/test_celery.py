"""Issue 14, item 7: the production executor, run. Redis (Debian's redis-server) and two Celery
workers, natively, with docker-compose's Airflow settings, run the pipeline for a range; what they
publish is what the LocalExecutor publishes for the same range, and both workers took tasks.

The Celery settings are read from docker-compose.yml's x-airflow environment (executor, broker
scheme, result backend scheme and database), so compose stays validated against what runs here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

from tests.conftest import ROOT, ipkpi

pytestmark = pytest.mark.e2e

FIRST, LAST = "2020-01", "2020-03"
WORKERS = 2
# Columns whose values belong to a run, not to the data: the publication's id and instant, the ids
# and instants of the loads (taken in whatever order the ingestion tasks ran). Everything else of
# every published table is compared.
RUN_SPECIFIC = {"publication_id", "first_published_at", "load_id", "fetched_at"}


def compose_airflow_env() -> dict[str, str]:
    """compose's x-airflow environment, its ${VARIABLE…} references (secrets) replaced by a placeholder."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {k: re.sub(r"\$\{[^}]*\}", "from-env", str(v)) for k, v in compose["x-airflow"]["environment"].items()}


def celery_env(settings, redis_port: int) -> dict[str, str]:
    """docker-compose's Celery settings, pointed at this machine: the same executor, a Redis broker
    (database 0) and the result backend in Airflow's own metadata database, through SQLAlchemy."""
    compose = compose_airflow_env()
    broker = urlsplit(compose["AIRFLOW__CELERY__BROKER_URL"])
    backend = urlsplit(compose["AIRFLOW__CELERY__RESULT_BACKEND"])
    metadata = urlsplit(compose["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert compose["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert broker.scheme == "redis"
    assert backend.scheme == "db+postgresql"
    assert (backend.hostname, backend.port, backend.path) == (metadata.hostname, metadata.port, metadata.path)
    native_backend = "db+" + settings.embedded_dsn(metadata.path.lstrip("/"), backend.username)
    env = {
        "AIRFLOW__CORE__EXECUTOR": compose["AIRFLOW__CORE__EXECUTOR"],
        "AIRFLOW__CELERY__BROKER_URL": broker._replace(netloc=f"127.0.0.1:{redis_port}").geturl(),
        "AIRFLOW__CELERY__RESULT_BACKEND": native_backend,
        "IPKPI_CELERY_WORKERS": str(WORKERS),
    }
    assert urlsplit(native_backend).scheme == backend.scheme and urlsplit(native_backend).path == backend.path
    return env


def test_compose_celery_settings_are_the_ones_run_here(settings):
    """Every Airflow setting of compose's x-airflow is set natively too (the Celery ones by this test),
    with the same values where they are not host-specific and the same URL schemes where they are;
    only the UI's login differs (FAB with a provisioned admin there, the simple auth manager here)."""
    from ipkpi.platform import services

    compose = compose_airflow_env()
    native = {**services.airflow_env(settings), **celery_env(settings, 6379)}
    airflow_settings = {k for k in compose if k.startswith("AIRFLOW__")}
    assert airflow_settings - set(native) <= {"AIRFLOW__CORE__AUTH_MANAGER"}
    for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__CORE__DEFAULT_TIMEZONE"):
        assert native[key] == compose[key], key
    for key in (
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    ):
        assert urlsplit(native[key]).scheme == urlsplit(compose[key]).scheme, key
    assert services.celery_workers(native) == [f"{services.CELERY_WORKER}{i}" for i in range(1, WORKERS + 1)]
    assert services.celery_workers(services.airflow_env(settings)) == []  # LocalExecutor by default


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis(settings):
    """redis-server on 127.0.0.1 only, its own port, no persistence, in the test's state directory."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: scripts/system-deps.sh (make test) installs it")
    port = int(os.environ.get("IPKPI_TEST_REDIS_PORT") or _free_port())
    workdir = settings.home / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--daemonize",
            "no",
            "--logfile",
            str(workdir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        import redis as redis_client

        client = redis_client.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis_client.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port} (see {workdir}/redis.log)")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fresh_warehouse(settings, database: str) -> str:
    from ipkpi.pipeline.warehouse import init_warehouse

    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database} OWNER ipkpi_owner")
    dsn = settings.embedded_dsn(database, "ipkpi_owner")
    init_warehouse(dsn, settings)
    return dsn


def abandon_active_runs(settings) -> None:
    """A run an interrupted session left queued would be executed first by the new workers, with this
    test's warehouse: mark it failed (the services are stopped)."""
    with psycopg.connect(settings.embedded_dsn("airflow", "airflow")) as conn:
        if not conn.execute("SELECT to_regclass('dag_run')").fetchone()[0]:
            return  # a fresh machine: Airflow's database is not even migrated yet
        runs = [
            r
            for (r,) in conn.execute(
                "UPDATE dag_run SET state = 'failed' WHERE state IN ('queued', 'running') RETURNING run_id"
            )
        ]
        conn.execute(
            "UPDATE task_instance SET state = 'failed' WHERE run_id = ANY(%s) "
            "AND (state IS NULL OR state NOT IN ('success', 'failed', 'skipped', 'upstream_failed'))",
            (runs,),
        )


def published_md5(dsn: str) -> tuple[str, dict[str, str]]:
    """md5 of every published table (the log view aside), row for row, its run-specific columns aside;
    and of all of them."""
    tables = {}
    with psycopg.connect(dsn) as conn:
        names = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'published' ORDER BY 1").fetchall()
        for (table,) in names:
            columns = [
                c
                for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'published' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
                if c not in RUN_SPECIFIC
            ]
            row = "ROW(" + ", ".join(f'"{c}"' for c in columns) + ")::text"
            tables[table] = conn.execute(
                f"SELECT count(*) || ':' || md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) "
                f"FROM published.{table}"
            ).fetchone()[0]
    overall = hashlib.md5("\n".join(f"{t} {d}" for t, d in sorted(tables.items())).encode()).hexdigest()
    return overall, tables


def run(env: dict[str, str]) -> tuple[str, float]:
    """`ipkpi run` of the range as a user would; its run id and wall time (restart of the services included)."""
    started = time.monotonic()
    try:
        result = ipkpi("run", "--from", FIRST, "--to", LAST, env=env, timeout=300)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`ipkpi run` still running after 300 s: {exc.output!r}")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"published {FIRST} … {LAST}" in result.stdout
    return re.search(r"^triggered (\S+)", result.stdout, flags=re.M).group(1), seconds


def run_record(settings, run_id: str) -> tuple[float, list[tuple]]:
    """The DAG run's duration and its task instances, from Airflow's metadata database."""
    with psycopg.connect(settings.embedded_dsn("airflow", "airflow")) as conn:
        start, end = conn.execute("SELECT start_date, end_date FROM dag_run WHERE run_id = %s", (run_id,)).fetchone()
        tis = conn.execute(
            "SELECT task_id, state, executor, external_executor_id FROM task_instance "
            "WHERE run_id = %s ORDER BY task_id",
            (run_id,),
        ).fetchall()
    return (end - start).total_seconds(), tis


def worker_totals(broker_url: str) -> dict[str, int]:
    """Tasks each Celery worker executed since it started, as the workers themselves report it."""
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        stats = app.control.inspect(timeout=5).stats() or {}
    finally:
        app.close()
    return {worker: sum(s.get("total", {}).values()) for worker, s in stats.items()}


def worker_tasks(settings, tis: list[tuple]) -> dict[str, list[str]]:
    """Which worker ran which task: each worker's log names the Celery task ids it received, and a
    task instance records its Celery task id (external_executor_id)."""
    from ipkpi.platform import services

    by_id = {external_id: task_id for task_id, _, _, external_id in tis if external_id}
    out = {}
    for log in sorted(settings.log_dir.glob(f"{services.CELERY_WORKER}*.log")):
        text = log.read_text(errors="replace")
        out[log.stem] = sorted(task for celery_id, task in by_id.items() if celery_id in text)
    return out


def test_celery_workers_publish_what_the_local_executor_publishes(settings, warehouse, redis):
    from ipkpi.platform import services

    env = celery_env(settings, redis)
    celery_dsn = fresh_warehouse(settings, "ipkpi_celery")
    local_dsn = fresh_warehouse(settings, "ipkpi_local")
    services.stop_airflow(settings)  # workers of this test only: their counts start at zero
    abandon_active_runs(settings)
    for log in settings.log_dir.glob(f"{services.CELERY_WORKER}*.log"):
        log.unlink()

    # CeleryExecutor: `ipkpi run` (re)starts the stack with two workers, as the calling shell asks
    celery_run, celery_wall = run({**env, "IPKPI_WAREHOUSE_DSN": celery_dsn})
    totals = worker_totals(env["AIRFLOW__CELERY__BROKER_URL"])
    celery_dag_seconds, celery_tis = run_record(settings, celery_run)
    per_worker = worker_tasks(settings, celery_tis)

    # LocalExecutor, same range, a warehouse of its own: the calling shell no longer asks for Celery,
    # so the services restart on the LocalExecutor and the workers stop
    local_run, local_wall = run({"IPKPI_WAREHOUSE_DSN": local_dsn})
    local_dag_seconds, local_tis = run_record(settings, local_run)
    assert not list(settings.run_dir.glob(f"{services.CELERY_WORKER}*.pid"))

    celery_md5, celery_tables = published_md5(celery_dsn)
    local_md5, local_tables = published_md5(local_dsn)
    executed = [ti for ti in celery_tis if ti[1] in ("success", "failed")]
    print(
        f"\nCelery: {len(totals)} workers, tasks per worker {totals} "
        f"({ {w: len(t) for w, t in per_worker.items()} } by log: {per_worker})"
    )
    print(
        f"wall time of `ipkpi run --from {FIRST} --to {LAST}` (services' restart included): "
        f"Celery {celery_wall:.1f} s, LocalExecutor {local_wall:.1f} s"
    )
    print(
        f"DAG run (first task queued → run done): Celery {celery_dag_seconds:.1f} s, "
        f"LocalExecutor {local_dag_seconds:.1f} s; {len(executed)} tasks executed"
    )
    print(f"published md5: Celery {celery_md5}, LocalExecutor {local_md5} ({len(celery_tables)} tables)")

    assert len(totals) == WORKERS and all(n > 0 for n in totals.values()), totals
    assert sum(totals.values()) == len(executed), (totals, executed)
    assert sorted(t for tasks in per_worker.values() for t in tasks) == sorted(ti[0] for ti in executed)
    assert all(per_worker.values()), per_worker
    assert [ti[:2] for ti in celery_tis] == [ti[:2] for ti in local_tis]
    assert celery_tables == local_tables
    assert celery_md5 == local_md5
