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
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from ingest.registry import AGENCIES, SOURCES
from ipkpi.platform.config import ROOT, Settings, write_private

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor")
# The scheduler's log server would listen on every interface (Airflow has no host setting for it);
# the api-server reads the task logs from the shared log folder, so it is not started.
COMPONENT_OPTIONS = {"scheduler": ("--skip-serve-logs",)}
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
            argv,
            env=env,
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file(settings, name).write_text(f"{proc.pid} {_start_time(proc.pid)}")
    return proc.pid


def _recorded(settings: Settings, name: str) -> tuple[int, int] | None:
    """(pid, kernel start time) a PID file records."""
    try:
        pid, started = _pid_file(settings, name).read_text().split()
        return int(pid), int(started)
    except (FileNotFoundError, ValueError):
        return None


def group_members(pgid: int, started: int) -> list[int]:
    """Processes still in the process group a service of ours led — also after the leader died
    (kill -9 of the scheduler leaves its workers behind) — and none that merely reuse its number:
    a member started no earlier than the leader did."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid and int(fields[19]) >= started:  # zombies are gone
            members.append(int(stat.parent.name))
    return members


def stop_process(settings: Settings, name: str, timeout: float = 30.0) -> bool:
    """Stop a service and its whole process group (Airflow components fork workers, tasks fork dbt),
    whether or not the group's leader is still alive."""
    recorded = _recorded(settings, name)
    _pid_file(settings, name).unlink(missing_ok=True)
    if recorded is None or not group_members(*recorded):
        return False
    pgid, started = recorded
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_members(pgid, started):
                return True
            time.sleep(0.2)
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


def pg_log(data: Path) -> Path:
    """The server's log, inside its own directory (the server's user writes nowhere else)."""
    return data / "postgres.log"


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
        with tempfile.TemporaryDirectory() as private:  # 0700: the password file is never readable by others
            pwfile = Path(private) / "pwfile"
            write_private(pwfile, settings.secrets["pg"]["postgres"])
            if _as_root():
                shutil.chown(private, "postgres")
                shutil.chown(pwfile, "postgres")
                shutil.chown(data, "postgres")
            data.chmod(0o700)
            _pg_run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
    if _as_root() and data.parent == settings.home:
        # the server's user owns its cluster and nothing else of ours (secrets.json is beside it)
        if settings.home.stat().st_uid != 0:
            shutil.chown(settings.home, "root", "root")
        settings.home.chmod(0o711)
        (settings.home / ".pwfile").unlink(missing_ok=True)  # left by earlier versions
        if (settings.home / "postgres.log").exists():  # the log earlier versions kept beside the cluster
            shutil.chown(settings.home / "postgres.log", "root", "root")
    if not pg_is_up(settings):
        log(f"starting Postgres on 127.0.0.1:{settings.pg_port}")
        options = (
            f"-p {settings.pg_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=off "
            "-c max_wal_size=4GB -c work_mem=32MB -c maintenance_work_mem=256MB"
        )
        try:
            _pg_run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(pg_log(data)),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        except subprocess.CalledProcessError:
            tail = pg_log(data).read_text(errors="replace").splitlines()[-3:]
            raise RuntimeError(
                f"the embedded Postgres did not start on 127.0.0.1:{settings.pg_port} "
                f"(another server on that port? set IPKPI_PG_PORT): " + " | ".join(tail)
            ) from None
    _ensure_roles_and_databases(settings)


def _ensure_roles_and_databases(settings: Settings) -> None:
    owners = {"airflow": "airflow", "ipkpi": "ipkpi_owner"}
    with _pg_admin(settings) as conn:
        for role in ("airflow", "ipkpi_owner"):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            attrs = "LOGIN CREATEROLE" if role == "ipkpi_owner" else "LOGIN"
            conn.execute(
                sql.SQL("{} ROLE {} WITH " + attrs + " PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(settings.secrets["pg"][role])
                )
            )
        for database, owner in owners.items():
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner))
                )
        # only the warehouse is open to every login (BI's included); the rest is for their owners
        for database in ("airflow", "postgres", "template1"):
            conn.execute(
                sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
            )


def stop_postgres(settings: Settings) -> bool:
    data = pg_data_dir(settings)
    if not (data / "PG_VERSION").exists() or not pg_is_up(settings):
        return False
    _pg_run([str(pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    return True


# --- agency sandbox -----------------------------------------------------------------------


def write_sandbox_credentials(settings: Settings) -> Path:
    path = settings.sandbox_credentials_file
    write_private(path, json.dumps(settings.secrets["sandbox"]))
    return path


def sandbox_argv(settings: Settings, port: int | None = None, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The command that serves the agency sandbox on 127.0.0.1 with the project's credentials
    (written to their file first); ``extra``: the sandbox's own options (--scale, --as-of …)."""
    credentials = write_sandbox_credentials(settings)
    return [
        sys.executable,
        "-m",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port or settings.sandbox_port),
        "--credentials-file",
        str(credentials),
        *extra,
    ]


def ensure_sandbox(settings: Settings) -> None:
    if running_pid(settings, "sandbox"):
        return
    log(f"starting the agency sandbox on {settings.sandbox_url}")
    spawn(settings, "sandbox", sandbox_argv(settings), dict(os.environ))
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
    """AIRFLOW_CONN_* pointing at the sandbox, for every agency connection the calling shell leaves
    unset, with the agency's sandbox credential (config.load_or_create_secrets adds it to a
    secrets.json written before the agency was declared)."""
    conns = {}
    for agency in sorted(AGENCIES.values(), key=lambda a: a.conn_id):
        var = f"AIRFLOW_CONN_{agency.conn_id.upper()}"
        if not os.environ.get(var):
            password = settings.secrets["sandbox"][agency.key]
            conns[var] = json.dumps({"conn_type": "http", "host": settings.sandbox_url, "password": password})
    return conns


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment every Airflow process of the project runs with."""
    env = dict(os.environ)
    env.pop("IPKPI_GX_DSN", None)  # a gate run in this process leaves its DSN here: not for the tasks
    env.update(default_connections(settings))
    env.update(
        {
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
            # the tasks' login: ipkpi_runner, never the set-up user (no CREATEROLE, not superuser)
            "IPKPI_WAREHOUSE_DSN": settings.runtime_dsn,
            "GX_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    return env


SCHEDULE_SETTINGS = ("IPKPI_SCHEDULE", "IPKPI_FIRST_MONTH", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE")
EXECUTOR_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "IPKPI_CELERY_WORKERS",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY",
)


def config_fingerprint(env: dict[str, str]) -> str:
    """A hash (never the values) of the settings that decide where data comes from and goes to,
    what the schedule does (its cadence, first month, the agencies' expected lags) and what runs the
    tasks (the executor and its workers)."""
    relevant = {
        k: v
        for k, v in sorted(env.items())
        if k.startswith(("AIRFLOW_CONN_IPKPI_", "IPKPI_LAG_DAYS_"))  # ipkpi_alerts too
        or k in ("IPKPI_WAREHOUSE_DSN", *SCHEDULE_SETTINGS, *EXECUTOR_SETTINGS)
    }
    return hashlib.sha256(json.dumps(relevant).encode()).hexdigest()


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def airflow_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [airflow_bin(), *args], env=airflow_env(settings), cwd=ROOT, check=True, capture_output=True, text=True
    )


def ensure_airflow_db(settings: Settings) -> None:
    """`airflow db migrate` (idempotent) and the admin password file of the simple auth manager."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    write_private(
        settings.airflow_home / "passwords.json", json.dumps({"ipkpi": settings.secrets["airflow_admin_password"]})
    )
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
    return [
        airflow_bin(),
        "celery",
        "worker",
        "--celery-hostname",
        f"w{name.removeprefix(CELERY_WORKER)}@%h",
        "--skip-serve-logs",
    ]


def _started_workers(settings: Settings) -> list[str]:
    """Celery workers with a PID file, whatever the executor is now (to stop them all)."""
    return sorted(p.stem for p in settings.run_dir.glob(f"{CELERY_WORKER}*.pid"))


class Busy(RuntimeError):
    """Set-up would disturb work in progress (a DAG run Airflow would be restarted under)."""


def active_runs(settings: Settings) -> list[str]:
    """The DAG runs queued or running now (from Airflow's metadata database)."""
    with psycopg.connect(settings.embedded_dsn("airflow", "airflow"), autocommit=True, connect_timeout=5) as conn:
        return [
            f"{dag_id} run {run_id} ({state})"
            for dag_id, run_id, state in conn.execute(
                "SELECT dag_id, run_id, state FROM dag_run WHERE state IN ('queued', 'running') ORDER BY run_id"
            )
        ]


@contextmanager
def setup_lock(settings: Settings):
    """One set-up at a time on a state directory: a second waits for the first, then finds its
    services running (instead of failing on a port the first is still binding)."""
    import fcntl

    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "setup.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another set-up of this state directory is in progress: waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_airflow(settings: Settings) -> None:
    """Start api-server, scheduler and dag-processor (and Celery workers) with this shell's settings.

    Components that died are started again, and the live ones, with the runs they execute, go on.
    If Airflow runs with *other* source connections, warehouse or schedule (the fingerprint
    differs), it is restarted — `ipkpi run` fetches from and loads into what the calling shell
    says — but never under an active DAG run: Busy, naming it.
    """
    env = airflow_env(settings)
    fingerprint = config_fingerprint(env)
    stamp = settings.run_dir / "airflow.fingerprint"
    processes = {f"airflow-{c}": [airflow_bin(), c, *COMPONENT_OPTIONS.get(c, ())] for c in AIRFLOW_COMPONENTS}
    processes.update({worker: _celery_worker_argv(worker) for worker in celery_workers(env)})
    alive = {name for name in processes if running_pid(settings, name)}
    same = stamp.exists() and stamp.read_text() == fingerprint
    if same and alive == set(processes):
        return
    if same:  # a crash or kill -9: replace what died (and its orphans), leave the rest running
        missing = [name for name in processes if name not in alive]
        for name in missing:
            stop_process(settings, name)
    else:
        active = active_runs(settings) if alive else []
        if active:
            raise Busy(
                f"Airflow runs with other connections, warehouse or schedule than this shell's, and "
                f"{', '.join(active)} {'is' if len(active) == 1 else 'are'} active: not restarting it under "
                f"{'that run' if len(active) == 1 else 'those runs'}. Wait until it ends (ipkpi status, the "
                f"Airflow UI), or use this shell's settings, then try again"
            )
        if alive:
            log("restarting Airflow: the calling shell's connections or warehouse differ from the running ones")
        stop_airflow(settings)  # also what is left of an earlier set (orphans of a dead component)
        missing = list(processes)
    for name in missing:
        spawn(settings, name, processes[name], env)
    stamp.write_text(fingerprint)
    log(f"starting Airflow ({', '.join(name.removeprefix('airflow-') for name in missing)}; {settings.airflow_url})")
    wait_for_http(f"{settings.airflow_url}/api/v2/monitor/health", "Airflow api-server", timeout=180)
    dead = [name for name in processes if not running_pid(settings, name)]
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
