"""Fixtures of the mart tests: their own Postgres cluster (var/test-mart, port 25632 unless
IPKPI_MART_TEST_PG_PORT says otherwise), one database per dataset, dbt run the pipeline's way.

- `synthetic_mart`: the synthetic raw layer of synthetic.py, built in two steps (step 2 is an
  incremental run over late changes), then rebuilt with --full-refresh;
- `sandbox_mart`: the default sandbox dataset over real HTTP, ingested 2018-01 … 2024-12, built,
  then 2025-01 … 2025-12 ingested and built incrementally, then rebuilt with --full-refresh.
"""

from __future__ import annotations

import pytest

from tests.mart import harness


@pytest.fixture(scope="session")
def mart_settings():
    from ipkpi.platform import services

    settings = harness.mart_settings()
    was_up = services.pg_is_up(settings)
    services.ensure_postgres(settings)
    yield settings
    if not was_up:
        services.stop_postgres(settings)


@pytest.fixture(scope="module")
def synthetic_mart(mart_settings):
    import psycopg

    from tests.mart import synthetic

    dsn = harness.fresh_database(mart_settings, "ipkpi_mart_synthetic")
    home = mart_settings.home / "synthetic"
    world = synthetic.build_world()
    with psycopg.connect(dsn, autocommit=True) as conn:
        synthetic.write_step(conn, world, 1)
    harness.dbt(["build", "--exclude", "resource_type:test"], dsn, home)
    step1 = harness.snapshot(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        synthetic.write_step(conn, world, 2)
    harness.dbt(["build"], dsn, home)  # incremental, with every dbt test
    incremental = harness.snapshot(dsn)
    harness.dbt(["build", "--full-refresh", "--exclude", "resource_type:test"], dsn, home)
    full = harness.snapshot(dsn)
    return {"dsn": dsn, "world": world, "step1": step1, "incremental": incremental, "full": full}


@pytest.fixture(scope="module")
def sandbox_mart(mart_settings):
    from ingest.http import Endpoint
    from ingest.registry import SOURCES
    from ingest.runner import ingest_months
    from sandbox import SandboxConfig, start_server
    from tests.mart.synthetic import months

    dsn = harness.fresh_database(mart_settings, "ipkpi_mart_sandbox")
    home = mart_settings.home / "sandbox"
    secrets = mart_settings.secrets["sandbox"]
    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=secrets))
    url = server.url
    try:

        def ingest(first: str, last: str) -> None:
            for source, conn_id in SOURCES.items():
                endpoint = Endpoint(conn_id, url, secrets[conn_id.removeprefix("ipkpi_")])
                ingest_months(source, months(first, last), dsn, endpoint, run_id="tests-mart")

        ingest("2018-01", "2024-12")
        harness.dbt(["build", "--exclude", "resource_type:test"], dsn, home)
        ingest("2025-01", "2025-12")
        harness.dbt(["build"], dsn, home, publication_id="pub-tests-mart")  # incremental, every dbt test
        incremental = harness.snapshot(dsn)
        harness.dbt(
            ["build", "--full-refresh", "--exclude", "resource_type:test"], dsn, home, publication_id="pub-tests-mart"
        )
        full = harness.snapshot(dsn)
    finally:
        server.stop()
    return {"dsn": dsn, "incremental": incremental, "full": full}
