from __future__ import annotations

import psycopg
import pytest

from ingest.http import Endpoint


@pytest.fixture
def raw_db(warehouse):
    """The warehouse with an empty raw layer."""
    with psycopg.connect(warehouse, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('raw', 'quarantine')")]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return warehouse


@pytest.fixture
def endpoint_for(sandbox, sandbox_credentials):
    """An Endpoint for a source's connection on a given sandbox server (default: the session one)."""
    def make(conn_id: str, server=None, password: str | None = None) -> Endpoint:
        agency = conn_id.removeprefix("ipkpi_")
        return Endpoint(conn_id, (server or sandbox).url,
                        sandbox_credentials[agency] if password is None else password)
    return make


def query(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()
