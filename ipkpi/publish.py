"""Write-audit-publish: the candidate schema becomes ``published`` in one transaction.

BI users read ``published``; a publication appears whole or not at all. The swap renames schemas
(O(1), whatever the data size) under a short lock time-out, retried, so a long BI query delays it
rather than being blocked by it. Every attempt is a row of ``audit.publication_log``, shown to BI
as the view ``published.publication_log``.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from ipkpi.warehouse import grant_published

CANDIDATE = "publish_candidate"
PUBLISHED = "published"
PREVIOUS = "published_previous"

LOG_VIEW = """
CREATE VIEW {schema}.publication_log AS
SELECT publication_id, started_at, finished_at, status, periods, checks_run, checks_failed, detail
FROM audit.publication_log
"""


class PublicationBlocked(RuntimeError):
    """The gate found an `error`: nothing changed in `published`."""


def new_publication_id() -> str:
    return datetime.now(timezone.utc).strftime("pub-%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def log_attempt(dsn: str, publication_id: str, periods: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO audit.publication_log (publication_id, started_at, status, periods)
               VALUES (%s, now(), 'running', %s) ON CONFLICT (publication_id) DO NOTHING""",
            (publication_id, periods))


def finish_attempt(dsn: str, publication_id: str, status: str, checks_run: int | None = None,
                   checks_failed: int | None = None, detail: dict | None = None,
                   conn: psycopg.Connection | None = None) -> None:
    statement = """UPDATE audit.publication_log
                   SET status = %s, finished_at = now(), checks_run = coalesce(%s, checks_run),
                       checks_failed = coalesce(%s, checks_failed), detail = detail || %s::jsonb
                   WHERE publication_id = %s"""
    params = (status, checks_run, checks_failed, json.dumps(detail or {}, ensure_ascii=False, default=str),
              publication_id)
    if conn is not None:
        conn.execute(statement, params)
        return
    with psycopg.connect(dsn, autocommit=True) as own:
        own.execute(statement, params)


def swap(dsn: str, publication_id: str, *, lock_timeout_ms: int = 3000, attempts: int = 20) -> None:
    """Make the candidate the publication, atomically; keep retrying while BI holds locks."""
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(dsn) as conn:  # one transaction
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{lock_timeout_ms}ms")))
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(PREVIOUS)))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(PUBLISHED), sql.Identifier(PREVIOUS)))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(CANDIDATE), sql.Identifier(PUBLISHED)))
                conn.execute(LOG_VIEW.format(schema=PUBLISHED))
                grant_published(conn, PUBLISHED)
                finish_attempt(dsn, publication_id, "published", conn=conn)
            break
        except psycopg.errors.LockNotAvailable:
            if attempt == attempts:
                raise
            time.sleep(min(0.5 * attempt, 5))
    try:  # the old publication: nobody can reach it by name any more
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(PREVIOUS)))
    except psycopg.errors.LockNotAvailable:
        pass  # a BI query still reads it; the next publication drops it


def current_publication(dsn: str) -> str | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT publication_id FROM audit.publication_log WHERE status = 'published' "
            "ORDER BY finished_at DESC LIMIT 1").fetchone()
    return row[0] if row else None
