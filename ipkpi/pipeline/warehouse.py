"""Initialise the warehouse: schemas, roles, grants, raw and audit tables (idempotent).

Works on the embedded cluster and on any existing, empty Postgres database named by
``IPKPI_WAREHOUSE_DSN`` whose user may create schemas and roles.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

from ingest.registry import SOURCES, connector
from ingest.store import ensure_raw_tables
from ipkpi.pipeline.vintages import VINTAGE_DDL
from ipkpi.platform.config import SCHEMAS, Settings

# role -> what it is for (README "Security"). The warehouse DSN's user (ipkpi_owner) sets up; the
# pipeline's tasks log in as ipkpi_runner, which can only act as the three NOLOGIN roles below.
ROLES = {
    "ipkpi_loader": "writes raw and quarantine (ingestion)",
    "ipkpi_transformer": "reads raw, builds staging/intermediate/marts and the candidate (dbt)",
    "ipkpi_publisher": "owns published, writes the publication audit; cannot read raw",
    "ipkpi_runner": "the pipeline's tasks: loader + transformer + publisher; no CREATEROLE, not superuser",
    "bi_reader": "BI tools and the white paper: SELECT on published only",
}
LOGINS = ("ipkpi_runner", "bi_reader")
# BI sessions: bounded in number and length, and `published` found without a schema prefix
BI_CONNECTION_LIMIT = "IPKPI_BI_CONNECTION_LIMIT"  # default 20
BI_STATEMENT_TIMEOUT = "IPKPI_BI_STATEMENT_TIMEOUT"  # default 60s

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit.publication_log (
    publication_id  text PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    status          text NOT NULL CHECK (status IN ('running', 'published', 'blocked', 'failed')),
    periods         text,
    checks_run      int,
    checks_failed   int,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- what the publication was built from (ipkpi.pipeline.publish.input_fingerprint: a run whose inputs equal
-- the current publication's publishes nothing), and the instant of the run that made it
ALTER TABLE audit.publication_log ADD COLUMN IF NOT EXISTS input_fingerprint text;
ALTER TABLE audit.publication_log ADD COLUMN IF NOT EXISTS as_of timestamptz;
-- when each source month first reached `published` (latency, in published.source_months)
CREATE TABLE IF NOT EXISTS audit.source_month_first_published (
    source          text NOT NULL,
    period          text NOT NULL,
    publication_id  text NOT NULL,
    published_at    timestamptz NOT NULL,
    PRIMARY KEY (source, period)
);
-- one publication attempt at a time (ipkpi.pipeline.publish.acquire_lock): held from begin to the swap
CREATE TABLE IF NOT EXISTS audit.publication_lock (
    only_one        boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    publication_id  text NOT NULL,
    dag_run_id      text,
    acquired_at     timestamptz NOT NULL
);
"""

GRANTS = """
GRANT USAGE ON SCHEMA raw, quarantine TO ipkpi_loader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA raw, quarantine TO ipkpi_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw, quarantine TO ipkpi_loader;
GRANT USAGE ON SCHEMA raw, quarantine TO ipkpi_transformer;
GRANT SELECT ON ALL TABLES IN SCHEMA raw, quarantine TO ipkpi_transformer;
GRANT USAGE, CREATE ON SCHEMA staging, intermediate, marts TO ipkpi_transformer;
GRANT USAGE ON SCHEMA audit TO ipkpi_transformer, ipkpi_publisher;
GRANT SELECT ON audit.publication_log, audit.source_month_first_published TO ipkpi_transformer;
GRANT SELECT, INSERT, UPDATE, DELETE ON audit.publication_log, audit.source_month_first_published,
      audit.publication_lock TO ipkpi_publisher;
GRANT ipkpi_loader, ipkpi_transformer, ipkpi_publisher TO ipkpi_runner;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw, quarantine GRANT SELECT, INSERT, UPDATE ON TABLES TO ipkpi_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw, quarantine GRANT USAGE ON SEQUENCES TO ipkpi_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw, quarantine GRANT SELECT ON TABLES TO ipkpi_transformer;
REVOKE ALL ON SCHEMA raw, quarantine, staging, intermediate, marts, audit FROM bi_reader;
-- The pipeline's user acts as these roles (the loader SETs ROLE ipkpi_loader, dbt runs as
-- ipkpi_transformer), so it is a member of both; the transformer creates the candidate schema, and
-- owns what dbt built before it ran as the transformer.
DO $$ DECLARE r record; BEGIN
    EXECUTE format('GRANT ipkpi_loader, ipkpi_transformer, ipkpi_publisher TO %I', current_user);
    EXECUTE format('GRANT CREATE ON DATABASE %I TO ipkpi_transformer', current_database());
    FOR r IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE (n.nspname IN ('staging', 'intermediate', 'marts', 'publish_candidate')
                    OR starts_with(n.nspname, 'candidate_'))
               AND c.relkind IN ('r', 'v', 'm', 'p') AND pg_get_userbyid(c.relowner) = current_user LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO ipkpi_transformer',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       r.nspname, r.relname);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'publish_candidate'
               AND pg_get_userbyid(nspowner) = current_user) THEN
        ALTER SCHEMA publish_candidate OWNER TO ipkpi_transformer;
    END IF;
END $$;
-- BI writes nothing, not even temporary tables (needs the database's owner: else left as it is)
DO $$ BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO ipkpi_loader, ipkpi_transformer, %I',
                   current_database(), current_user);
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not the database owner: TEMPORARY stays granted to PUBLIC';
END $$;
"""


def init_warehouse(dsn: str, settings: Settings) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in SCHEMAS:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        passwords = {"ipkpi_runner": settings.runner_password, "bi_reader": settings.bi_reader_password}
        for role, purpose in ROLES.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if role in LOGINS:
                # not superuser, replication or bypassrls: CREATE's defaults, which only a superuser could change
                conn.execute(
                    sql.SQL("{} ROLE {} WITH LOGIN NOCREATEROLE NOCREATEDB PASSWORD {}").format(
                        sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(role), sql.Literal(passwords[role])
                    )
                )
            elif not exists:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(role), sql.Literal(purpose)))
        limit = int(os.environ.get(BI_CONNECTION_LIMIT) or 20)
        timeout = os.environ.get(BI_STATEMENT_TIMEOUT) or "60s"
        conn.execute(sql.SQL("ALTER ROLE bi_reader CONNECTION LIMIT {}").format(sql.Literal(limit)))
        conn.execute(sql.SQL("ALTER ROLE bi_reader SET statement_timeout = {}").format(sql.Literal(timeout)))
        conn.execute("ALTER ROLE bi_reader SET search_path = published")
        ensure_raw_tables(conn, [connector(name) for name in SOURCES])
        conn.execute(AUDIT_DDL)
        conn.execute(GRANTS)
        conn.execute(VINTAGE_DDL)  # handed to the publisher, whom GRANTS made the owner a member of
        if not conn.execute("SELECT to_regclass('published.publication_log')").fetchone()[0]:
            from ipkpi.pipeline.publish import LOG_VIEW

            conn.execute(LOG_VIEW.format(schema="published"))
        grant_published(conn, "published")


RELKINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}


def grant_published(conn: psycopg.Connection, schema: str) -> None:
    """Hand a publication to its owner and to BI: the schema and each relation in it belong to
    ipkpi_publisher — which cannot read raw, so no view in `published` can show raw data — and
    bi_reader gets SELECT on each relation, by name (nothing granted schema-wide)."""
    ident = sql.Identifier(schema)
    conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO ipkpi_publisher").format(ident))
    found = conn.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1",
        (schema,),
    ).fetchall()
    for name, kind in found:
        target = sql.SQL("{}.{}").format(ident, sql.Identifier(name))
        conn.execute(sql.SQL("ALTER {} {} OWNER TO ipkpi_publisher").format(sql.SQL(RELKINDS[kind]), target))
        conn.execute(sql.SQL("GRANT SELECT ON {} TO bi_reader").format(target))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO bi_reader").format(ident))


def bi_reader_dsn(settings: Settings) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(settings.warehouse_dsn)
    password = quote(settings.bi_reader_password, safe="")
    netloc = f"bi_reader:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
