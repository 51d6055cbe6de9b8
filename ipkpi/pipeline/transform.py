"""Run dbt against the warehouse (the transform step), as a subprocess with credentials in env."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ipkpi.platform.config import ROOT

DBT_PROJECT = ROOT / "dbt_project"


class TransformError(RuntimeError):
    pass


def dbt_env(dsn: str, home: Path) -> dict[str, str]:
    """The profile's IPKPI_DBT_* variables, from the warehouse DSN (never on a command line)."""
    parts = urlsplit(dsn)
    env = dict(os.environ)
    env.update(
        {
            "IPKPI_DBT_HOST": parts.hostname or "127.0.0.1",
            "IPKPI_DBT_PORT": str(parts.port or 5432),
            "IPKPI_DBT_USER": unquote(parts.username or ""),
            "IPKPI_DBT_PASSWORD": unquote(parts.password or ""),
            "IPKPI_DBT_DBNAME": parts.path.lstrip("/") or "postgres",
            "IPKPI_DBT_ROLE": os.environ.get("IPKPI_DBT_ROLE", "ipkpi_transformer"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_LOG_PATH": str(home / "dbt" / "logs"),
            "DBT_TARGET_PATH": str(home / "dbt" / "target"),
            # JIT off for dbt's sessions: the models' plans are costed on whole-history estimates,
            # so Postgres JIT-compiles nearly every statement (≈ 2 s each at ×100, even when an
            # incremental model has no period to recompute). Measured at ×100 with 8 years held
            # (dbt_project/bench_mart.py's warehouse): a build with nothing new 43.9 s → 36.0 s,
            # a full rebuild 164.6 s → 117.3 s.
            "PGOPTIONS": " ".join(filter(None, [os.environ.get("PGOPTIONS"), "-c jit=off"])),
        }
    )
    return env


# what a publication id may look like (ipkpi.pipeline.publish.new_publication_id; tests and benchmarks use
# plainer ones): the models write it into SQL literals, so nothing else may pass
PUBLICATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def run_dbt(
    args: list[str], dsn: str, home: Path, publication_id: str | None = None, candidate: str | None = None
) -> str:
    """Run ``dbt <args>``; raise with dbt's own summary of what failed. ``candidate``: the schema
    the published models are built into (default ``publish_candidate``)."""
    command = [
        str(Path(sys.executable).with_name("dbt")),
        "--no-use-colors",
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
    ]
    if publication_id is not None:
        if not PUBLICATION_ID.match(publication_id):
            raise ValueError(f"not a publication id: {publication_id!r}")
        dbt_vars = {"publication_id": publication_id}
        if candidate is not None:
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", candidate):
                raise ValueError(f"not a candidate schema: {candidate!r}")
            dbt_vars["candidate_schema"] = candidate
        command += ["--vars", json.dumps(dbt_vars)]
    result = subprocess.run(
        command, env=dbt_env(dsn, home), cwd=DBT_PROJECT, capture_output=True, text=True, preexec_fn=die_with_parent
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise TransformError(summarise_failure(args, output))
    return output


def die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the task that started it dies (a task
    killed by Airflow, a time-out, kill -9), so no dbt is left building behind a dead run."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def summarise_failure(args: list[str], output: str) -> str:
    """One line naming what failed (model or test and dbt's reason), then dbt's own details."""
    lines = [re.sub(r"^\d\d:\d\d:\d\d\s+", "", ln).strip() for ln in output.splitlines()]
    totals = next((ln for ln in reversed(lines) if ln.startswith("Done. PASS=")), "")
    failed = []
    for i, line in enumerate(lines):
        if re.match(r"^(Database Error|Compilation Error|Failure|Runtime Error) in ", line):
            reason = next((ln for ln in lines[i + 1 : i + 4] if ln), "")
            failed.append(f"{line} — {reason}")
    head = f"dbt {' '.join(args)} failed ({totals.removeprefix('Done. ') or 'no summary'})"
    details = failed or [ln for ln in lines if "ERROR" in ln or "Error" in ln][-10:] or lines[-20:]
    return head + ": " + " | ".join(details[:5])


def build(dsn: str, home: Path, publication_id: str, candidate: str | None = None) -> str:
    """Seeds, models and dbt tests; the publication candidate is built into ``candidate`` (the
    attempt's own schema; `publish_candidate` when none is named)."""
    return run_dbt(["build"], dsn, home, publication_id, candidate)
