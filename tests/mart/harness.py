"""Helpers shared by the mart tests and dbt_project/bench_mart.py: databases, dbt runs, snapshots."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "contract"

# the mart's own stack: never the defaults (25432…) nor the session fixtures' (25532…)
MART_ENV = {
    "IPKPI_HOME": os.environ.get("IPKPI_MART_TEST_HOME", str(ROOT / "var" / "test-mart")),
    "IPKPI_PG_PORT": os.environ.get("IPKPI_MART_TEST_PG_PORT", "25632"),
    "IPKPI_AIRFLOW_PORT": os.environ.get("IPKPI_MART_TEST_AIRFLOW_PORT", "28680"),
    "IPKPI_SANDBOX_PORT": os.environ.get("IPKPI_MART_TEST_SANDBOX_PORT", "29601"),
}


def mart_settings(env: dict | None = None):
    from ipkpi.platform.config import Settings

    env = env or MART_ENV
    return Settings(
        home=Path(env["IPKPI_HOME"]).resolve(),
        pg_port=int(env["IPKPI_PG_PORT"]),
        airflow_port=int(env["IPKPI_AIRFLOW_PORT"]),
        sandbox_port=int(env["IPKPI_SANDBOX_PORT"]),
    )


def fresh_database(settings, name: str) -> str:
    """(Re)create database `name` owned by ipkpi_owner, initialised like the warehouse; its DSN."""
    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services

    services.ensure_postgres(settings)
    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER ipkpi_owner").format(sql.Identifier(name)))
    dsn = settings.embedded_dsn(name, "ipkpi_owner")
    init_warehouse(dsn, settings)
    return dsn


def dbt(args: list[str], dsn: str, home: Path, publication_id: str = "pub-test") -> float:
    """Run dbt (through ipkpi.pipeline.transform, as the pipeline does); seconds taken."""
    from ipkpi.pipeline.transform import run_dbt

    started = time.monotonic()
    run_dbt(args, dsn, home, publication_id)
    return time.monotonic() - started


def kpi_values(dsn: str, schema: str = "marts") -> dict[tuple[str, str, str, str], Decimal | None]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT kpi_code, grain, period, region_code, value FROM {}.kpi_values").format(
                sql.Identifier(schema)
            )
        ).fetchall()
    return {(k, g, p, r): v for k, g, p, r, v in rows}


# business content of the mart: bookkeeping columns (processed_at, computed_at, publication ids) left out
SNAPSHOT_QUERIES = {
    "kpi_values": "SELECT kpi_code, grain, period, region_code, value, unit, is_complete, months_covered, prev_value,"
    " yoy_growth_pct, target_value, attainment_pct, target_met FROM marts.kpi_values",
    "kpi_breakdown": "SELECT kpi_code, grain, period, region_code, dimension, member, value FROM marts.kpi_breakdown",
    "fct_court_cases": "SELECT * FROM marts.fct_court_cases",
    "fct_enforcement_cases": "SELECT * FROM marts.fct_enforcement_cases",
    "fct_police_cases": "SELECT * FROM marts.fct_police_cases",
    "fct_pledges": "SELECT * FROM marts.fct_pledges",
    "fct_customs_seizures": "SELECT * FROM marts.fct_customs_seizures",
    "fct_statistics": "SELECT * FROM marts.fct_statistics",
    "ytd_violations": "SELECT * FROM intermediate.int_amr__statistics_ytd_violations",
}


def snapshot(dsn: str) -> dict[str, set[tuple]]:
    out = {}
    with psycopg.connect(dsn) as conn:
        for name, query in SNAPSHOT_QUERIES.items():
            out[name] = set(conn.execute(query).fetchall())
    return out


def diff(a: dict[str, set], b: dict[str, set], limit: int = 5) -> dict[str, dict]:
    """Per relation, a few rows only in a and only in b (empty when equal)."""
    out = {}
    for name in a:
        only_a, only_b = a[name] - b[name], b[name] - a[name]
        if only_a or only_b:
            out[name] = {
                "only_first": sorted(only_a, key=repr)[:limit],
                "only_second": sorted(only_b, key=repr)[:limit],
                "counts": (len(only_a), len(only_b)),
            }
    return out


# Counts and sums — money in 元, statistics as the agency reported them — are compared exactly.
# Quotients (rates, means, per-capita ratios: sandbox.oracle.QUOTIENTS; growth and attainment of
# any KPI) to 12 significant digits: Postgres rounds each numeric division to at least 16
# significant digits (select_div_scale) and the oracles divide with Python's Decimal, so the two
# part in the 15th digit at most (5e-15 relative at most on the default dataset).
QUOTIENT_PRECISION = Decimal("1e-12")
QUOTIENT_COLUMNS = ("yoy_growth_pct", "attainment_pct")


def is_exact(kpi: str, column: str = "value") -> bool:
    """Whether ``column`` of ``kpi``'s rows is exact (a count, a sum, a target as written, a flag)."""
    from sandbox.oracle import QUOTIENTS

    return column not in QUOTIENT_COLUMNS and kpi not in QUOTIENTS


def same(a, b, exact: bool = True) -> bool:
    """Equal values: exactly, or — for a quotient — to QUOTIENT_PRECISION relative (absolute below 1)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    a, b = Decimal(a), Decimal(b)
    if exact:
        return a == b
    return abs(a - b) <= QUOTIENT_PRECISION * max(Decimal(1), abs(b))


def same_value(kpi: str, a, b, column: str = "value") -> bool:
    return same(a, b, exact=is_exact(kpi, column))
