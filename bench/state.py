"""Each benchmark's own state directory and ports, so it never touches the stack of `make run`
(25432…) or of the tests (25532…, 25632…): ``use_own_state("bench", pg_port=25732, …)`` before the
project's modules read their settings. A variable already set in the shell wins."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def use_own_state(name: str, *, pg_port: int, sandbox_port: int, airflow_port: int | None = None) -> None:
    os.environ.setdefault("IPKPI_HOME", str(ROOT / "var" / name))
    os.environ.setdefault("IPKPI_PG_PORT", str(pg_port))
    os.environ.setdefault("IPKPI_SANDBOX_PORT", str(sandbox_port))
    if airflow_port is not None:
        os.environ.setdefault("IPKPI_AIRFLOW_PORT", str(airflow_port))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
