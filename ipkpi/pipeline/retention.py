"""Retention of what grows with every run but is not data: task logs, the gate's validation
results and Data Docs pages, and the fetch log's repeats. Payload bodies and raw rows are never
pruned — every payload received is kept (the raw archive is the provenance of every published
figure).

- ``IPKPI_RETAIN_LOG_DAYS`` (default 90; 0 keeps everything): files older than that are removed.
- ``IPKPI_RETAIN_REPEAT_FETCH_DAYS`` (default 0, keep all): a daily re-check that received the
  same payload again (the statistics feed has no ETag, so it is fetched whole) leaves a row in
  raw.fetches; rows older than that which repeat a payload are removed, keeping for each source,
  period, page and payload its first and its latest fetch.

- ``IPKPI_RETAIN_VINTAGE_YEARS`` (default 0, keep all): vintages (ipkpi.pipeline.vintages) published longer
  ago than that are forgotten — never the current one, nor one a white paper was generated from.

``ipkpi prune`` applies them all (run it from cron, or after a run).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ipkpi.platform.config import Settings

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


def retain_repeat_fetch_days() -> int:
    return int(os.environ.get("IPKPI_RETAIN_REPEAT_FETCH_DAYS") or 0)


def prune_repeat_fetches(dsn: str, days: int | None = None) -> int:
    """Delete fetch-log rows older than ``days`` that only repeat a payload already logged for the
    same source, period and page (its first and latest fetch stay); the number deleted."""
    import psycopg

    days = retain_repeat_fetch_days() if days is None else days
    if days <= 0:
        return 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            """WITH ranked AS (
                   SELECT fetch_id, fetched_at,
                          row_number() OVER w_first AS from_first, row_number() OVER w_last AS from_last
                   FROM raw.fetches
                   WINDOW w_first AS (PARTITION BY source, period, page, sha256 ORDER BY fetched_at, fetch_id),
                          w_last AS (PARTITION BY source, period, page, sha256 ORDER BY fetched_at DESC, fetch_id DESC))
               DELETE FROM raw.fetches f USING ranked r
               WHERE f.fetch_id = r.fetch_id AND r.from_first > 1 AND r.from_last > 1
                 AND r.fetched_at < now() - make_interval(days => %s)""",
            (days,),
        ).rowcount


def retain_vintage_years() -> int:
    return int(os.environ.get("IPKPI_RETAIN_VINTAGE_YEARS") or 0)


def prune_vintages(dsn: str, years: int | None = None) -> tuple[int, int]:
    """Forget vintages published more than ``years`` ago (IPKPI_RETAIN_VINTAGE_YEARS; 0 keeps all),
    except the current one and every vintage a white paper was generated from; history rows no
    kept vintage holds go with them. Revisions stay (they say what changed, and why). Returns
    (vintages, history rows) removed."""
    import psycopg
    from psycopg import sql

    from ipkpi.pipeline.vintages import TRACKED, history_table

    years = retain_vintage_years() if years is None else years
    if years <= 0:
        return 0, 0
    with psycopg.connect(dsn) as conn:
        conn.execute("LOCK TABLE vintage.publications IN EXCLUSIVE MODE")  # not while a swap records one
        gone = conn.execute(
            """DELETE FROM vintage.publications p
               WHERE p.published_at < now() - make_interval(years => %s)
                 AND p.vintage_no < (SELECT max(vintage_no) FROM vintage.publications)
                 AND NOT EXISTS (SELECT 1 FROM vintage.whitepapers w WHERE w.publication_id = p.publication_id)""",
            (years,),
        ).rowcount
        rows = 0
        for relation in TRACKED:
            if conn.execute("SELECT to_regclass(%s)", (f"vintage.{relation}_history",)).fetchone()[0]:
                rows += conn.execute(
                    sql.SQL(
                        """DELETE FROM {} h WHERE NOT EXISTS (
                           SELECT 1 FROM vintage.publications p WHERE p.vintage_no >= h.valid_from_vintage
                             AND (h.valid_to_vintage IS NULL OR p.vintage_no < h.valid_to_vintage))"""
                    ).format(history_table(relation))
                ).rowcount
    return gone, rows
