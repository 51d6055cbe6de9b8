"""The project's local services: the embedded Postgres cluster, the agency sandbox and Airflow.

Everything here is idempotent: ``ensure_*`` starts what is stopped and leaves what runs alone,
so ``make setup`` after a reboot brings the stack back. ``stop_all`` stops what we started.
Processes are tracked by PID files under ``$IPKPI_HOME/run``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from ingest.registry import SOURCES
from ipkpi.config import ROOT, Settings

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor")
CELERY_WORKER = "airflow-celery-worker-"  # PID files airflow-celery-worker-1.pid, …
SOURCE_CONN_IDS = tuple(sorted(set(SOURCES.values())))  # one connection per agency


def log(message: str) -> None:
    print(f"[ipkpi] {message}", flush=True)


# --- process bookkeeping ------------------------------------------------------------------


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process: with the PID, it identifies the process across reboots."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return None


def running_pid(settings: Settings, name: str) -> int | None:
    """PID of a service we started, if that very process is still alive."""
    path = _pid_file(settings, name)
    try:
        pid, started = path.read_text().split()
        pid = int(pid)
    except (FileNotFoundError, ValueError):
        return None
    return pid if _start_time(pid) == started else None


def spawn(settings: Settings, name: str, argv: list[str], env: dict[str, str]) -> int:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.log_dir / f"{name}.log", "ab") as logfile:
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file(settings, name).write_text(f"{proc.pid} {_start_time(proc.pid)}")
    return proc.pid


def stop_process(settings: Settings, name: str, timeout: float = 30.0) -> bool:
    pid = running_pid(settings, name)
    if pid is None:
        _pid_file(settings, name).unlink(missing_ok=True)
        return False
    try:  # the whole process group: Airflow components fork workers
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _pid_file(settings, name).unlink(missing_ok=True)
    return True


# --- embedded Postgres --------------------------------------------------------------------


def pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    raise RuntimeError("PostgreSQL server binaries not found; `make setup` installs them (apt-get install postgresql)")


def _as_root() -> bool:
    return os.geteuid() == 0


def pg_data_dir(settings: Settings) -> Path:
    """The cluster's directory. As root the server runs as `postgres`, which must reach it."""
    default = settings.home / "pg"
    settings.home.mkdir(parents=True, exist_ok=True)
    if not _as_root():
        return default
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(settings.home)], check=False)
    if probe.returncode == 0:
        return default
    # e.g. a checkout under a 0700 /root: keep the cluster in a postgres-readable place instead
    digest = hashlib.sha1(str(settings.home).encode()).hexdigest()[:12]
    return Path("/var/lib/ipkpi") / digest / "pg"


def _pg_run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    if _as_root():
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


def _pg_admin(settings: Settings, database: str = "postgres") -> psycopg.Connection:
    dsn = settings.embedded_dsn(database, "postgres")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def pg_is_up(settings: Settings) -> bool:
    try:
        with _pg_admin(settings):
            return True
    except psycopg.OperationalError:
        return False


def ensure_postgres(settings: Settings) -> None:
    """initdb (once), start (when stopped), roles and databases (idempotent)."""
    data = pg_data_dir(settings)
    bindir = pg_bin()
    if not (data / "PG_VERSION").exists():
        log(f"initialising the embedded Postgres cluster in {data}")
        data.mkdir(parents=True, exist_ok=True)
        pwfile = data.parent / ".pwfile"
        pwfile.write_text(settings.secrets["pg"]["postgres"])
        if _as_root():
            shutil.chown(data.parent, "postgres")
            shutil.chown(data, "postgres")
            shutil.chown(pwfile, "postgres")
        data.chmod(0o700)
        try:
            _pg_run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                     f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"])
        finally:
            pwfile.unlink(missing_ok=True)
    if not pg_is_up(settings):
        log(f"starting Postgres on 127.0.0.1:{settings.pg_port}")
        options = (f"-p {settings.pg_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                   "-c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=off "
                   "-c max_wal_size=4GB -c work_mem=32MB -c maintenance_work_mem=256MB")
        try:
            _pg_run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "postgres.log"),
                     "-o", options, "-w", "-t", "60", "start"])
        except subprocess.CalledProcessError:
            tail = (data.parent / "postgres.log").read_text(errors="replace").splitlines()[-3:]
            raise RuntimeError(f"the embedded Postgres did not start on 127.0.0.1:{settings.pg_port} "
                               f"(another server on that port? set IPKPI_PG_PORT): " + " | ".join(tail)) from None
    _ensure_roles_and_databases(settings)


def _ensure_roles_and_databases(settings: Settings) -> None:
    owners = {"airflow": "airflow", "ipkpi": "ipkpi_owner"}
    with _pg_admin(settings) as conn:
        for role in ("airflow", "ipkpi_owner"):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            attrs = "LOGIN CREATEROLE" if role == "ipkpi_owner" else "LOGIN"
            conn.execute(sql.SQL("{} ROLE {} WITH " + attrs + " PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(role), sql.Literal(settings.secrets["pg"][role])))
        for database, owner in owners.items():
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(owner)))


def stop_postgres(settings: Settings) -> bool:
    data = pg_data_dir(settings)
    if not (data / "PG_VERSION").exists() or not pg_is_up(settings):
        return False
    _pg_run([str(pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    return True


# --- agency sandbox -----------------------------------------------------------------------


def write_sandbox_credentials(settings: Settings) -> Path:
    path = settings.sandbox_credentials_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings.secrets["sandbox"]))
    path.chmod(0o600)
    return path


def ensure_sandbox(settings: Settings) -> None:
    if running_pid(settings, "sandbox"):
        return
    credentials = write_sandbox_credentials(settings)
    argv = [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(settings.sandbox_port),
            "--credentials-file", str(credentials)]
    log(f"starting the agency sandbox on {settings.sandbox_url}")
    spawn(settings, "sandbox", argv, dict(os.environ))
    wait_for_http(settings.sandbox_url + "/", "sandbox", accept=lambda status: status < 500)


def wait_for_http(url: str, what: str, accept=lambda status: status == 200, timeout: float = 120.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if accept(requests.get(url, timeout=2).status_code):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up at {url} within {timeout:.0f} s (see var/logs/)")


# --- Airflow ------------------------------------------------------------------------------


def default_connections(settings: Settings) -> dict[str, str]:
    """AIRFLOW_CONN_* pointing at the sandbox, for every source the calling shell leaves unset."""
    conns = {}
    for conn_id in SOURCE_CONN_IDS:
        var = f"AIRFLOW_CONN_{conn_id.upper()}"
        if not os.environ.get(var):
            password = settings.secrets["sandbox"][conn_id.removeprefix("ipkpi_")]
            conns[var] = json.dumps({"conn_type": "http", "host": settings.sandbox_url, "password": password})
    return conns


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment every Airflow process of the project runs with."""
    env = dict(os.environ)
    env.update(default_connections(settings))
    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # LocalExecutor here; AIRFLOW__CORE__EXECUTOR=CeleryExecutor (with AIRFLOW__CELERY__BROKER_URL, as
        # docker-compose runs it) also starts IPKPI_CELERY_WORKERS `airflow celery worker` processes
        "AIRFLOW__CORE__EXECUTOR": os.environ.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": os.environ.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2"),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__FERNET_KEY": settings.secrets["airflow_fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.airflow_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "ipkpi:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.airflow_home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.airflow_db_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": settings.airflow_url,
        "AIRFLOW__API__SECRET_KEY": settings.secrets["airflow_api_secret"],
        "AIRFLOW__API_AUTH__JWT_SECRET": settings.secrets["airflow_jwt_secret"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # the api-server's /monitor/health covers it
        # the scheduler's local log server: next to the api-server's port, so two stacks never collide
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(settings.airflow_port + 1),
        # The local stack runs what `ipkpi run`, backfills and the UI ask for; a deployment that
        # runs the daily schedule sets AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=True (docker-compose does).
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": os.environ.get("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", "False"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.log_dir / "airflow"),
        "IPKPI_HOME": str(settings.home),
        "IPKPI_WAREHOUSE_DSN": settings.warehouse_dsn,
        "GX_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


SCHEDULE_SETTINGS = ("IPKPI_SCHEDULE", "IPKPI_FIRST_MONTH", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE")
EXECUTOR_SETTINGS = ("AIRFLOW__CORE__EXECUTOR", "IPKPI_CELERY_WORKERS", "AIRFLOW__CELERY__BROKER_URL",
                     "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__WORKER_CONCURRENCY")


def config_fingerprint(env: dict[str, str]) -> str:
    """A hash (never the values) of the settings that decide where data comes from and goes to,
    what the schedule does (its cadence, first month, the agencies' expected lags) and what runs the
    tasks (the executor and its workers)."""
    relevant = {k: v for k, v in sorted(env.items())
                if k.startswith(("AIRFLOW_CONN_IPKPI_", "IPKPI_LAG_DAYS_"))  # ipkpi_alerts too
                or k in ("IPKPI_WAREHOUSE_DSN", *SCHEDULE_SETTINGS, *EXECUTOR_SETTINGS)}
    return hashlib.sha256(json.dumps(relevant).encode()).hexdigest()


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def airflow_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([airflow_bin(), *args], env=airflow_env(settings), cwd=ROOT, check=True,
                          capture_output=True, text=True)


def ensure_airflow_db(settings: Settings) -> None:
    """`airflow db migrate` (idempotent) and the admin password file of the simple auth manager."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    passwords = settings.airflow_home / "passwords.json"
    passwords.write_text(json.dumps({"ipkpi": settings.secrets["airflow_admin_password"]}))
    passwords.chmod(0o600)
    stamp = settings.airflow_home / ".migrated"
    from importlib.metadata import version as installed

    version = installed("apache-airflow")  # read from the package's metadata: no import of airflow
    if stamp.exists() and stamp.read_text() == version:
        return
    log("migrating Airflow's metadata database")
    airflow_cli(settings, "db", "migrate")
    stamp.write_text(version)


def celery_workers(env: dict[str, str]) -> list[str]:
    """The Celery workers to run beside the scheduler: IPKPI_CELERY_WORKERS (default 2) on the CeleryExecutor."""
    if env.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
        return []
    return [f"{CELERY_WORKER}{i}" for i in range(1, int(env.get("IPKPI_CELERY_WORKERS") or 2) + 1)]


def _celery_worker_argv(name: str) -> list[str]:
    # w1@<host>, w2@<host>: distinct Celery node names on one machine. The workers share the
    # api-server's log folder here, so they serve no logs (docker-compose's do, each in its container)
    return [airflow_bin(), "celery", "worker", "--celery-hostname", f"w{name.removeprefix(CELERY_WORKER)}@%h",
            "--skip-serve-logs"]


def _started_workers(settings: Settings) -> list[str]:
    """Celery workers with a PID file, whatever the executor is now (to stop them all)."""
    return sorted(p.stem for p in settings.run_dir.glob(f"{CELERY_WORKER}*.pid"))


def airflow_running(settings: Settings) -> bool:
    names = [f"airflow-{c}" for c in AIRFLOW_COMPONENTS] + celery_workers(airflow_env(settings))
    return all(running_pid(settings, name) for name in names)


def ensure_airflow(settings: Settings) -> None:
    """Start api-server, scheduler and dag-processor with this shell's settings.

    If they already run with *other* source connections or another warehouse (the fingerprint
    differs), they are restarted: `ipkpi run` always fetches from and loads into what the calling
    shell says.
    """
    env = airflow_env(settings)
    fingerprint = config_fingerprint(env)
    stamp = settings.run_dir / "airflow.fingerprint"
    if airflow_running(settings):
        if stamp.exists() and stamp.read_text() == fingerprint:
            return
        log("restarting Airflow: the calling shell's connections or warehouse differ from the running ones")
        stop_airflow(settings)
    else:
        stop_airflow(settings)  # a partial set (one component died): start all afresh
    for component in AIRFLOW_COMPONENTS:
        spawn(settings, f"airflow-{component}", [airflow_bin(), component], env)
    workers = celery_workers(env)
    for worker in workers:
        spawn(settings, worker, _celery_worker_argv(worker), env)
    stamp.write_text(fingerprint)
    log(f"starting Airflow (api-server {settings.airflow_url}, scheduler, dag-processor"
        + (f", {len(workers)} Celery workers)" if workers else ")"))
    wait_for_http(f"{settings.airflow_url}/api/v2/monitor/health", "Airflow api-server", timeout=180)
    dead = [name for name in [f"airflow-{c}" for c in AIRFLOW_COMPONENTS] + workers if not running_pid(settings, name)]
    if dead:  # e.g. a worker that cannot import its executor: runs would wait in `queued` for ever
        raise RuntimeError(f"{', '.join(dead)} exited at start; see {settings.log_dir}/<name>.log")


def stop_airflow(settings: Settings) -> None:
    for component in AIRFLOW_COMPONENTS:
        stop_process(settings, f"airflow-{component}")
    for worker in _started_workers(settings):
        stop_process(settings, worker)
    (settings.run_dir / "airflow.fingerprint").unlink(missing_ok=True)


def stop_all(settings: Settings) -> list[str]:
    stopped = []
    for component in AIRFLOW_COMPONENTS:
        if stop_process(settings, f"airflow-{component}"):
            stopped.append(f"airflow {component}")
    for worker in _started_workers(settings):
        if stop_process(settings, worker):
            stopped.append(worker.replace("-", " ", 1))
    (settings.run_dir / "airflow.fingerprint").unlink(missing_ok=True)
    if stop_process(settings, "sandbox"):
        stopped.append("sandbox")
    if stop_postgres(settings):
        stopped.append("postgres")
    return stopped
