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


def log_attempt(dsn: str, publication_id: str, periods: str, fingerprint: str | None = None,
                as_of: datetime | None = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO audit.publication_log (publication_id, started_at, status, periods, input_fingerprint,
                                                  as_of)
               VALUES (%s, now(), 'running', %s, %s, coalesce(%s, now())) ON CONFLICT (publication_id) DO NOTHING""",
            (publication_id, periods, fingerprint, as_of))


# What a publication is made of besides raw: a change to any of these files changes the mart or
# its checks, so it is a reason to publish again even when no agency sent anything new.
TRANSFORMATION_FILES = ("dbt_project/dbt_project.yml", "dbt_project/models", "dbt_project/macros",
                        "dbt_project/seeds", "dbt_project/tests", "expectations")


def input_fingerprint(dsn: str) -> str:
    """A digest of everything a publication is built from: each source month's current load (the
    raw layer's state) and the transformation's files."""
    import hashlib

    from ipkpi.config import ROOT

    digest = hashlib.sha256()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for source, period, load_id in conn.execute(
                "SELECT source, period, current_load_id FROM raw.source_months WHERE status = 'available' "
                "ORDER BY source, period"):
            digest.update(f"{source}/{period}/{load_id}\n".encode())
    for entry in TRANSFORMATION_FILES:
        path = ROOT / entry
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(f"{file.relative_to(ROOT)}\n".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def already_published(dsn: str, publication_id: str) -> bool:
    """A publication id is swapped in once: after that, whatever candidate exists is not its own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        status = conn.execute("SELECT status FROM audit.publication_log WHERE publication_id = %s",
                              (publication_id,)).fetchone()
    return status is not None and status[0] == "published"


def current_publication_inputs(dsn: str) -> tuple[str, str | None] | None:
    """(publication_id, input fingerprint) of the publication BI reads now, or None."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT publication_id, input_fingerprint FROM audit.publication_log WHERE status = 'published' "
            "ORDER BY finished_at DESC LIMIT 1").fetchone()


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
    """Make the candidate the publication, atomically; keep retrying while BI holds locks.

    Idempotent: when Airflow retries a publish whose swap committed (the process died after), the
    candidate is gone and the log says published — that is the success it reports."""
    if already_published(dsn, publication_id):
        return
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(dsn) as conn:  # one transaction
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{lock_timeout_ms}ms")))
                # reported published only once durable, whatever the server's default
                conn.execute("SET LOCAL synchronous_commit = on")
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(PREVIOUS)))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(PUBLISHED), sql.Identifier(PREVIOUS)))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(CANDIDATE), sql.Identifier(PUBLISHED)))
                conn.execute(LOG_VIEW.format(schema=PUBLISHED))
                conn.execute(sql.SQL(
                    """INSERT INTO audit.source_month_first_published (source, period, publication_id, published_at)
                       SELECT source, period, publication_id, first_published_at FROM {}.source_months
                       WHERE is_available ON CONFLICT DO NOTHING""").format(sql.Identifier(PUBLISHED)))
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
