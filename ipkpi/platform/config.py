"""Where everything is: paths, ports, the warehouse DSN and the project's generated secrets.

Configuration comes from the environment (documented in README.md); nothing secret is in the
code or the repo. Secrets the embedded set-up needs (database passwords, Airflow's keys, the
sandbox's credentials) are generated once into ``$IPKPI_HOME/secrets.json`` (mode 0600); one that
is missing — a new agency's credential — is added when first needed.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from ingest import registry
from ingest.calendar import TIMEZONE  # noqa: F401 - the project's one time zone, re-exported

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FIRST_MONTH = "2018-01"
DEFAULT_LAST_MONTH = "2025-12"
# The production schedule (cron, Asia/Shanghai): every evening, after the agencies' office hours,
# so a month an agency publishes during the day is published here the same evening.
DEFAULT_SCHEDULE = "0 20 * * *"


def schedule_cron() -> str:
    """``IPKPI_SCHEDULE`` overrides the cadence (read by the DAG file and by ``ipkpi run --at``)."""
    return os.environ.get("IPKPI_SCHEDULE") or DEFAULT_SCHEDULE


def first_month() -> str:
    """The deployment's first month (``IPKPI_FIRST_MONTH``): scheduled runs never ask for earlier ones."""
    return os.environ.get("IPKPI_FIRST_MONTH") or DEFAULT_FIRST_MONTH


def task_timeout_minutes() -> int:
    """``IPKPI_TASK_TIMEOUT_MIN`` (default 120): no task of a run may take longer (Airflow's
    execution_timeout), so a feed that hangs or trickles cannot hold the pipeline for ever."""
    return _env_int("IPKPI_TASK_TIMEOUT_MIN", 120)


# Airflow's retries of an ingest task (the DAG's setting, read by the fault tests too): a
# transient fault that outlasts the HTTP client's own retries (ingest.http.RETRIES) fails the task,
# which Airflow runs again after 20 s, 40 s, 80 s. A malformed payload or a refused credential
# fails it for good (ipkpi.pipeline.ingest): retrying would meet the same answer.
INGEST_TASK_RETRIES = 3
INGEST_RETRY_DELAY_SECONDS = 20


# Schemas of the warehouse, in data-flow order. `published` is what BI tools read.
SCHEMAS = ("raw", "quarantine", "staging", "intermediate", "marts", "audit", "published")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    """Everything a process of the project needs to know about its surroundings."""

    home: Path
    pg_port: int
    airflow_port: int
    sandbox_port: int

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            home=Path(os.environ.get("IPKPI_HOME", ROOT / "var")).resolve(),
            pg_port=_env_int("IPKPI_PG_PORT", 25432),
            airflow_port=_env_int("IPKPI_AIRFLOW_PORT", 28080),
            sandbox_port=_env_int("IPKPI_SANDBOX_PORT", 28801),
        )

    # --- paths -------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def sandbox_credentials_file(self) -> Path:
        return self.home / "sandbox-credentials.json"

    # --- secrets -------------------------------------------------------------------------
    @cached_property
    def secrets(self) -> dict:
        return load_or_create_secrets(self.secrets_file)

    # --- warehouse -----------------------------------------------------------------------
    @property
    def embedded_warehouse(self) -> bool:
        return not os.environ.get("IPKPI_WAREHOUSE_DSN")

    def embedded_dsn(self, database: str, user: str) -> str:
        password = quote(self.secrets["pg"][user], safe="")
        return f"postgresql://{user}:{password}@127.0.0.1:{self.pg_port}/{database}"

    @property
    def warehouse_dsn(self) -> str:
        return os.environ.get("IPKPI_WAREHOUSE_DSN") or self.embedded_dsn("ipkpi", "ipkpi_owner")

    @property
    def runner_password(self) -> str:
        """The pipeline's runtime login's password: `IPKPI_RUNNER_PASSWORD` when a deployment sets
        it (docker-compose), else the generated one."""
        return os.environ.get("IPKPI_RUNNER_PASSWORD") or self.secrets["pg"]["ipkpi_runner"]

    @property
    def runtime_dsn(self) -> str:
        """What the pipeline's tasks connect as: ``ipkpi_runner`` on the warehouse's database — no
        CREATEROLE, no superuser, only the loader's, transformer's and publisher's rights (the
        warehouse DSN's user keeps set-up to itself). `IPKPI_RUNTIME_DSN` overrides it."""
        if os.environ.get("IPKPI_RUNTIME_DSN"):
            return os.environ["IPKPI_RUNTIME_DSN"]
        parts = urlsplit(self.warehouse_dsn)
        netloc = f"ipkpi_runner:{quote(self.runner_password, safe='')}@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def bi_reader_password(self) -> str:
        """The read-only BI login's password: `IPKPI_BI_READER_PASSWORD` when a deployment hands it to
        its BI tool (docker-compose gives it to Metabase), else the generated one."""
        return os.environ.get("IPKPI_BI_READER_PASSWORD") or self.secrets["pg"]["bi_reader"]

    @property
    def airflow_db_url(self) -> str:
        return self.embedded_dsn("airflow", "airflow").replace("postgresql://", "postgresql+psycopg2://", 1)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read — created 0600, never readable for a moment — atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    tmp.replace(path)


DATABASE_LOGINS = ("postgres", "airflow", "ipkpi_owner", "ipkpi_runner", "bi_reader")


def sandbox_agencies() -> tuple[str, ...]:
    """The credential key of every agency the connectors declare (ingest.registry.AGENCIES): the
    sandbox's credentials, one per agency."""
    return tuple(registry.AGENCIES)


def load_or_create_secrets(path: Path) -> dict:
    """Read the generated secrets, creating any that are missing — also a login or an agency added
    after the file was first written (idempotent)."""
    data = json.loads(path.read_text()) if path.exists() else {}
    token = lambda: secrets.token_urlsafe(24)  # noqa: E731 - tiny local factory
    before = json.dumps(data, sort_keys=True)
    for group, names in (("pg", DATABASE_LOGINS), ("sandbox", sandbox_agencies())):
        members = data.setdefault(group, {})
        for name in names:
            members.setdefault(name, token())
    for key, factory in (
        ("airflow_fernet_key", _fernet_key),
        ("airflow_jwt_secret", token),
        ("airflow_api_secret", token),
        ("airflow_admin_password", token),
    ):
        data.setdefault(key, factory())
    if json.dumps(data, sort_keys=True) != before:
        write_private(path, json.dumps(data, indent=2))
    return data


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
