"""Write-audit-publish: the candidate schema becomes ``published`` in one transaction.

BI users read ``published``; a publication appears whole or not at all. The swap renames schemas
(O(1), whatever the data size) under a short lock time-out, retried, so a long BI query delays it
rather than being blocked by it. Every attempt is a row of ``audit.publication_log``, shown to BI
as the view ``published.publication_log``.

One publication at a time, whatever started the run (the schedule, ``ipkpi run``, ``airflow
backfill create``, the UI): an attempt holds ``audit.publication_lock`` from ``begin`` until it is
published, blocked or failed, so dbt's shared schemas (staging, intermediate, marts) are built by
one run at a time. Each attempt builds its own candidate schema (``candidate_schema``); the gate
records a digest of what it validated, and the swap refuses a candidate that is not that.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import NamedTuple

import psycopg
from psycopg import sql

from ipkpi.pipeline import vintages
from ipkpi.pipeline.warehouse import grant_published

CANDIDATE = "publish_candidate"  # where dbt builds the published models when no run names a candidate
CANDIDATE_PREFIX = "candidate_"
PUBLISHED = "published"
PREVIOUS = "published_previous"

LOG_VIEW = """
CREATE VIEW {schema}.publication_log AS
SELECT publication_id, started_at, finished_at, status, periods, checks_run, checks_failed,
       detail #- '{{gate,data_docs}}' AS detail  -- a path on the pipeline's server: not for BI
FROM audit.publication_log;
COMMENT ON VIEW {schema}.publication_log IS '发布日志：每次发布尝试及其质量检查结果 / Publication log: every publication attempt and its quality-gate outcome';
COMMENT ON COLUMN {schema}.publication_log.publication_id IS '发布编号 / Publication id (every published row carries it)';
COMMENT ON COLUMN {schema}.publication_log.started_at IS '开始时间 / When the attempt began';
COMMENT ON COLUMN {schema}.publication_log.finished_at IS '结束时间 / When it was published, blocked or failed';
COMMENT ON COLUMN {schema}.publication_log.status IS '状态：running / published / blocked / failed / Status of the attempt';
COMMENT ON COLUMN {schema}.publication_log.periods IS '覆盖的月份 / The months the run covered';
COMMENT ON COLUMN {schema}.publication_log.checks_run IS '执行的检查数 / Quality checks run';
COMMENT ON COLUMN {schema}.publication_log.checks_failed IS '未通过的检查数 / Quality checks that failed (errors block, warnings do not)';
COMMENT ON COLUMN {schema}.publication_log.detail IS '详情：检查结果与问题记录 / Detail: the gate''s results and the offending records';
"""


class PublicationBlocked(RuntimeError):
    """The gate found an `error`: nothing changed in `published`."""


def new_publication_id() -> str:
    return datetime.now(timezone.utc).strftime("pub-%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def candidate_schema(publication_id: str) -> str:
    """The attempt's own candidate schema: two runs never build into, check or swap the same one."""
    return CANDIDATE_PREFIX + re.sub(r"[^a-z0-9]+", "_", publication_id.lower()).strip("_")[:50]


# --- one publication at a time ---------------------------------------------------------------


class Holder(NamedTuple):
    """The attempt that holds the publication lock."""

    publication_id: str
    dag_run_id: str | None

    def __str__(self) -> str:
        return f"publication {self.publication_id}" + (f" of run {self.dag_run_id}" if self.dag_run_id else "")


# an attempt that has not reached the publication log this long after taking the lock died in begin
BEGIN_GRACE = "10 minutes"


def acquire_lock(
    dsn: str, publication_id: str, run_id: str | None, run_alive: Callable[[str], bool | None] = lambda run_id: None
) -> Holder | None:
    """Take the publication lock for this attempt; None when taken, else who holds it.

    A holder whose attempt is over (published, blocked, failed), whose Airflow run has ended
    (``run_alive`` says False), or that never logged its attempt, is not holding anything: its
    lock is taken over, and an attempt left 'running' is marked failed ("abandoned")."""
    with psycopg.connect(dsn) as conn:  # one transaction: the row lock orders competing attempts
        conn.execute(
            "INSERT INTO audit.publication_lock (publication_id, dag_run_id, acquired_at) "
            "VALUES (%s, %s, now()) ON CONFLICT (only_one) DO NOTHING",
            (publication_id, run_id),
        )
        held, held_run, status, stale = conn.execute(
            """SELECT l.publication_id, l.dag_run_id, p.status, l.acquired_at < now() - %s::interval
               FROM audit.publication_lock l LEFT JOIN audit.publication_log p USING (publication_id)
               FOR UPDATE OF l""",
            (BEGIN_GRACE,),
        ).fetchone()
        if held == publication_id:
            return None
        over = status in ("published", "blocked", "failed") or (status is None and stale)
        if not over and held_run and run_alive(held_run) is False:
            abandon_attempt(conn, held, f"its run {held_run} ended without it")
            over = True
        if not over:
            return Holder(held, held_run)
        conn.execute(
            "UPDATE audit.publication_lock SET publication_id = %s, dag_run_id = %s, acquired_at = now()",
            (publication_id, run_id),
        )
        return None


def abandon_attempt(conn: psycopg.Connection, publication_id: str, reason: str) -> None:
    """An attempt that will not finish by itself: failed (if it was still running), and why."""
    conn.execute(
        "UPDATE audit.publication_log SET status = 'failed', finished_at = now(), "
        "detail = detail || jsonb_build_object('abandoned', %s::text) "
        "WHERE publication_id = %s AND status = 'running'",
        (reason, publication_id),
    )


def resume_attempt(
    dsn: str, publication_id: str, run_id: str | None, run_alive: Callable[[str], bool | None] = lambda run_id: None
) -> None:
    """Before a publication step runs again (Airflow's retry after a failure ended the attempt):
    take the lock back and mark the attempt running — or fail if another attempt holds it now."""
    holder = acquire_lock(dsn, publication_id, run_id, run_alive)
    if holder is not None:
        raise RuntimeError(f"publication {publication_id} cannot resume: {holder} began meanwhile")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE audit.publication_log SET status = 'running', finished_at = NULL "
            "WHERE publication_id = %s AND status = 'failed'",
            (publication_id,),
        )


def release_lock(dsn: str | None, publication_id: str, conn: psycopg.Connection | None = None) -> None:
    """Let the next attempt in (with ``conn``: in that transaction, e.g. the swap's)."""
    statement = "DELETE FROM audit.publication_lock WHERE publication_id = %s"
    if conn is not None:
        conn.execute(statement, (publication_id,))
        return
    with psycopg.connect(dsn, autocommit=True) as own:
        own.execute(statement, (publication_id,))


def drop_other_candidates(dsn: str, publication_id: str) -> None:
    """Candidates of earlier attempts (blocked ones are kept for inspection until the next attempt):
    called under the lock, so none of them belongs to a live attempt."""
    own = candidate_schema(publication_id)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for (schema,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE (starts_with(nspname, %s) OR nspname = %s) AND nspname <> %s",
            (CANDIDATE_PREFIX, CANDIDATE, own),
        ).fetchall():
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# the aggregates BI and the white paper read: what the gate validated is these, cell for cell
DIGESTED = ("kpi_values", "kpi_breakdown", "kpi_catalogue", "source_months")


def candidate_digest(conn: psycopg.Connection, schema: str) -> str:
    """A digest of the candidate's aggregate relations (their size does not grow with the feeds'
    volume, so this is cheap at any scale)."""
    parts = []
    for table in DIGESTED:
        parts.append(
            conn.execute(
                sql.SQL(
                    "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()[0]
        )
    return ";".join(parts)


def log_attempt(
    dsn: str, publication_id: str, periods: str, fingerprint: str | None = None, as_of: datetime | None = None
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO audit.publication_log (publication_id, started_at, status, periods, input_fingerprint,
                                                  as_of)
               VALUES (%s, now(), 'running', %s, %s, coalesce(%s, now())) ON CONFLICT (publication_id) DO NOTHING""",
            (publication_id, periods, fingerprint, as_of),
        )


# What a publication is made of besides raw: a change to any of these files changes the mart or
# its checks, so it is a reason to publish again even when no agency sent anything new.
TRANSFORMATION_FILES = (
    "dbt_project/dbt_project.yml",
    "dbt_project/models",
    "dbt_project/macros",
    "dbt_project/seeds",
    "dbt_project/tests",
    "expectations",
)


def input_fingerprint(dsn: str) -> str:
    """A digest of everything a publication is built from: each source month's current load (the
    raw layer's state) and the transformation's files."""
    import hashlib

    from ipkpi.platform.config import ROOT

    digest = hashlib.sha256()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for source, period, load_id in conn.execute(
            "SELECT source, period, current_load_id FROM raw.source_months WHERE status = 'available' "
            "ORDER BY source, period"
        ):
            digest.update(f"{source}/{period}/{load_id}\n".encode())
    for entry in TRANSFORMATION_FILES:
        path = ROOT / entry
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(f"{file.relative_to(ROOT)}\n".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def attempt(dsn: str, publication_id: str) -> tuple[str, dict] | None:
    """(status, detail) of one publication attempt, or None when no attempt has that id."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT status, detail FROM audit.publication_log WHERE publication_id = %s", (publication_id,)
        ).fetchone()


def already_published(dsn: str, publication_id: str) -> bool:
    """A publication id is swapped in once: after that, whatever candidate exists is not its own."""
    row = attempt(dsn, publication_id)
    return row is not None and row[0] == "published"


def current_publication_inputs(dsn: str) -> tuple[str, str | None] | None:
    """(publication_id, input fingerprint) of the publication BI reads now, or None."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT publication_id, input_fingerprint FROM audit.publication_log WHERE status = 'published' "
            "ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()


def finish_attempt(
    dsn: str,
    publication_id: str,
    status: str,
    checks_run: int | None = None,
    checks_failed: int | None = None,
    detail: dict | None = None,
    conn: psycopg.Connection | None = None,
) -> None:
    statement = """UPDATE audit.publication_log
                   SET status = %s, finished_at = now(), checks_run = coalesce(%s, checks_run),
                       checks_failed = coalesce(%s, checks_failed), detail = detail || %s::jsonb
                   WHERE publication_id = %s"""
    params = (
        status,
        checks_run,
        checks_failed,
        json.dumps(detail or {}, ensure_ascii=False, default=str),
        publication_id,
    )
    if conn is not None:
        conn.execute(statement, params)
        return
    with psycopg.connect(dsn, autocommit=True) as own:
        own.execute(statement, params)


class CandidateMismatch(RuntimeError):
    """The candidate about to be swapped is not the one this attempt's gate validated."""


def check_candidate(conn: psycopg.Connection, publication_id: str) -> str:
    """The attempt's candidate, if it is exactly what its gate validated, and the attempt holds the
    publication lock; else CandidateMismatch, and nothing is published."""
    schema = candidate_schema(publication_id)
    row = conn.execute(
        "SELECT status, detail -> 'validated' ->> 'digest', "
        "EXISTS (SELECT 1 FROM audit.publication_lock WHERE publication_id = %s) "
        "FROM audit.publication_log WHERE publication_id = %s FOR UPDATE",
        (publication_id, publication_id),
    ).fetchone()
    if row is None or row[0] != "running" or row[1] is None:
        raise CandidateMismatch(
            f"publication {publication_id} was not validated by the gate "
            f"(status {row[0] if row else 'unknown'}): nothing published"
        )
    if not row[2]:
        raise CandidateMismatch(f"publication {publication_id} does not hold the publication lock: nothing published")
    if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone():
        raise CandidateMismatch(f"the candidate schema {schema} of {publication_id} is gone: nothing published")
    stamped = conn.execute(
        sql.SQL("SELECT DISTINCT publication_id FROM {}.kpi_values").format(sql.Identifier(schema))
    ).fetchall()
    if stamped != [(publication_id,)]:
        raise CandidateMismatch(f"{schema} holds publication {stamped}, not {publication_id}: nothing published")
    if candidate_digest(conn, schema) != row[1]:
        raise CandidateMismatch(f"{schema} changed after the gate validated it: nothing published")
    return schema


def swap(dsn: str, publication_id: str, *, lock_timeout_ms: int = 3000, attempts: int = 20) -> None:
    """Make the attempt's validated candidate the publication, atomically; keep retrying while BI
    holds locks.

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
                candidate = check_candidate(conn, publication_id)
                keep_first_vintage(conn)
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(PREVIOUS)))
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(PUBLISHED), sql.Identifier(PREVIOUS))
                )
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(candidate), sql.Identifier(PUBLISHED))
                )
                conn.execute(LOG_VIEW.format(schema=PUBLISHED))
                conn.execute(
                    sql.SQL(
                        """INSERT INTO audit.source_month_first_published (source, period, publication_id, published_at)
                       SELECT source, period, publication_id, first_published_at FROM {}.source_months
                       WHERE is_available ON CONFLICT DO NOTHING"""
                    ).format(sql.Identifier(PUBLISHED))
                )
                grant_published(conn, PUBLISHED)
                periods, rollback_of = conn.execute(
                    "SELECT periods, detail ->> 'rollback_of' FROM audit.publication_log WHERE publication_id = %s",
                    (publication_id,),
                ).fetchone()
                vintages.record(conn, PUBLISHED, publication_id, periods=periods, rollback_of=rollback_of)
                vintages.expose(conn, PUBLISHED)
                grant_published(conn, PUBLISHED)  # and the vintage views
                finish_attempt(dsn, publication_id, "published", conn=conn)
                release_lock(None, publication_id, conn=conn)
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


def keep_first_vintage(conn: psycopg.Connection) -> None:
    """A warehouse published before vintages were kept: its current publication becomes the first
    vintage, so the first revisions have something to be revisions of."""
    if conn.execute("SELECT 1 FROM vintage.publications LIMIT 1").fetchone():
        return
    if not conn.execute("SELECT to_regclass('published.kpi_values') IS NOT NULL").fetchone()[0]:
        return
    held = conn.execute(
        "SELECT p.publication_id, p.finished_at, p.periods FROM audit.publication_log p "
        "WHERE p.publication_id = (SELECT publication_id FROM published.kpi_values LIMIT 1)"
    ).fetchone()
    if held:
        vintages.record(conn, PUBLISHED, held[0], published_at=held[1], periods=held[2])
