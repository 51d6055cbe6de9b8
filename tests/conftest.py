"""The test stack: real Postgres, real Airflow, real dbt and GX, the sandbox over real HTTP.

Tests run against their own state directory and ports (``var/test``, ports +100), so `make test`
never touches the stack `make run` started. The session starts what it needs and stops it after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_ENV = {
    "IPKPI_HOME": os.environ.get("IPKPI_TEST_HOME", str(ROOT / "var" / "test")),
    "IPKPI_PG_PORT": os.environ.get("IPKPI_TEST_PG_PORT", "25532"),
    "IPKPI_AIRFLOW_PORT": os.environ.get("IPKPI_TEST_AIRFLOW_PORT", "28180"),
    "IPKPI_SANDBOX_PORT": os.environ.get("IPKPI_TEST_SANDBOX_PORT", "28901"),
    "GX_ANALYTICS_ENABLED": "false",
    "AIRFLOW_HOME": os.path.join(os.environ.get("IPKPI_TEST_HOME", str(ROOT / "var" / "test")), "airflow"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
}
for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_IPKPI_") or k == "IPKPI_WAREHOUSE_DSN"]:
    del os.environ[key]  # the tests decide where data comes from and goes to
os.environ.update(TEST_ENV)


@pytest.fixture(scope="session")
def settings():
    from ipkpi.platform.config import Settings

    return Settings.from_env()


@pytest.fixture(scope="session")
def warehouse(settings):
    """The embedded cluster with a fresh, initialised warehouse database; stopped at the end."""
    import psycopg

    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services

    services.ensure_postgres(settings)
    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi OWNER ipkpi_owner")
    init_warehouse(settings.warehouse_dsn, settings)
    yield settings.warehouse_dsn
    services.stop_all(settings)


@pytest.fixture(scope="session")
def sandbox_credentials(settings):
    return settings.secrets["sandbox"]


@pytest.fixture(scope="session")
def sandbox(settings, sandbox_credentials):
    """The default sandbox dataset over HTTP on a free port."""
    from sandbox import SandboxConfig, start_server

    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(settings, warehouse):
    """Everything `make setup` starts (sandbox on its configured port, Airflow), for end-to-end tests."""
    from ipkpi.cli import cmd_setup

    cmd_setup(settings)
    yield settings


def ipkpi(*args: str, env: dict | None = None, timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run the `ipkpi` command as a user would, in a shell environment."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("ipkpi")), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def connections_to(server, credentials: dict) -> dict[str, str]:
    """The shell environment that points every agency connection of the pipeline at ``server``."""
    import json

    from ingest.registry import SOURCES

    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(
            {"conn_type": "http", "host": server.url, "password": credentials[conn_id.removeprefix("ipkpi_")]}
        )
        for conn_id in set(SOURCES.values())
    }
