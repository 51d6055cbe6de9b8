"""Retention of what grows with every run but is not data: task logs, the gate's validation
results and Data Docs pages, the services' logs. Payloads and raw rows are never pruned — every
payload received is kept (the raw archive is the provenance of every published figure).

``IPKPI_RETAIN_LOG_DAYS`` (default 90; 0 keeps everything): files older than that are removed by
``ipkpi prune`` (run it from cron, or after a run).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ipkpi.config import Settings

DEFAULT_DAYS = 90


@dataclass
class Pruned:
    files: int = 0
    bytes: int = 0


def retained_trees(settings: Settings) -> list[Path]:
    """Where per-run files accumulate: Airflow's task logs, GX's validation results and Data Docs."""
    gx = settings.home / "gx" / "gx" / "uncommitted"
    return [settings.log_dir / "airflow", gx / "validations", gx / "data_docs" / "local_site" / "validations"]


def retain_days() -> int:
    return int(os.environ.get("IPKPI_RETAIN_LOG_DAYS") or DEFAULT_DAYS)


def prune(settings: Settings, days: int | None = None, now: float | None = None) -> Pruned:
    """Remove files older than ``days`` under the retained trees, and the directories left empty."""
    days = retain_days() if days is None else days
    pruned = Pruned()
    if days <= 0:
        return pruned
    cutoff = (now or time.time()) - days * 86400
    for tree in retained_trees(settings):
        if not tree.is_dir():
            continue
        for path in sorted(tree.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_file() and path.stat().st_mtime < cutoff:
                pruned.bytes += path.stat().st_size
                path.unlink()
                pruned.files += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return pruned
