"""The raw layer, written once for every feed: payload archive, loads, COPY, quarantine.

Nothing received is ever lost or overwritten:
- ``raw.payloads`` holds every distinct body received (content-addressed by SHA-256);
- ``raw.fetches`` logs every fetch (URL without credentials, ETag, status, run id);
- ``raw.loads`` is one row per distinct content of a source-month; its rows in the source's raw
  table carry ``load_id`` and their position (page, row) in the payload;
- ``raw.source_months`` says, per source and month, whether it is published and which load is
  current (a re-issue makes a new load current; the old one stays).
A month loads in one transaction: a task killed mid-load leaves nothing of it behind.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from datetime import datetime
from typing import Iterable

import psycopg
from psycopg import sql

from ingest.base import Column, Parsed, Payload

POSITION_COLUMNS = (
    Column("load_id", "bigint not null"),
    Column("source_page", "int not null"),
    Column("source_row", "int not null"),
)

CORE_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE TABLE IF NOT EXISTS raw.payloads (
    sha256      text PRIMARY KEY,
    bytes       int NOT NULL,
    body        bytea NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now()
);
-- lz4, not the default pglz, where the server has it: pglz made archiving a month's payload cost
-- about a third of loading its rows
DO $$ BEGIN
    ALTER TABLE raw.payloads ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN NULL;
END $$;
CREATE TABLE IF NOT EXISTS raw.fetches (
    fetch_id      bigserial PRIMARY KEY,
    source        text NOT NULL,
    period        text NOT NULL,
    url           text NOT NULL,
    page          int NOT NULL,
    http_status   int NOT NULL,
    etag          text,
    last_modified text,
    content_type  text,
    sha256        text NOT NULL REFERENCES raw.payloads,
    run_id        text,
    fetched_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS raw.loads (
    load_id          bigserial PRIMARY KEY,
    source           text NOT NULL,
    period           text NOT NULL,
    content_sha256   text NOT NULL,
    payload_sha256s  text[] NOT NULL,
    run_id           text,
    rows_loaded      int NOT NULL,
    rows_quarantined int NOT NULL,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, period, content_sha256)
);
-- what the payloads held (rows + quarantined, before versions already held were skipped), and
-- what the feed promised (the court's `total`): the gate checks that they agree
ALTER TABLE raw.loads ADD COLUMN IF NOT EXISTS records_received int;
ALTER TABLE raw.loads ADD COLUMN IF NOT EXISTS records_promised int;
CREATE TABLE IF NOT EXISTS raw.source_months (
    source          text NOT NULL,
    period          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('available', 'not_published')),
    current_load_id bigint REFERENCES raw.loads,
    etag            text,
    last_modified   text,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    run_id          text,
    PRIMARY KEY (source, period)
);
-- the release calendar (ingest.calendar): when the agency first published the month (its
-- Last-Modified, the statistics' published_at, a change-feed month's end), the instant of the run
-- that first loaded it, and of the run that last asked for it (a scheduled run's instant, so a
-- replay of past instants keeps its own clock)
ALTER TABLE raw.source_months ADD COLUMN IF NOT EXISTS agency_published_at timestamptz;
ALTER TABLE raw.source_months ADD COLUMN IF NOT EXISTS first_loaded_at timestamptz;
ALTER TABLE raw.source_months ADD COLUMN IF NOT EXISTS last_checked_at timestamptz;
-- a month past its expected publication: one alert per source and month, ever
CREATE TABLE IF NOT EXISTS raw.lateness_alerts (
    source      text NOT NULL,
    period      text NOT NULL,
    due_at      timestamptz NOT NULL,
    alerted_at  timestamptz NOT NULL,
    run_id      text,
    PRIMARY KEY (source, period)
);
CREATE TABLE IF NOT EXISTS quarantine.rows (
    quarantine_id   bigserial PRIMARY KEY,
    load_id         bigint NOT NULL REFERENCES raw.loads,
    source          text NOT NULL,
    period          text NOT NULL,
    payload_sha256  text NOT NULL,
    source_page     int NOT NULL,
    source_row      int NOT NULL,
    reason          text NOT NULL,
    record          jsonb NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);
"""


def table_ddl(table: str, columns: Iterable[Column]) -> str:
    cols = ",\n    ".join(f"{c.name} {c.pg_type}" for c in (*POSITION_COLUMNS, *columns))
    schema, name = table.split(".")
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols}\n);\n"
        f"CREATE INDEX IF NOT EXISTS {name}_load_idx ON {table} (load_id);\n"
    )


def ensure_raw_tables(conn: psycopg.Connection, sources) -> None:
    """Create the shared raw tables and each source's own (idempotent)."""
    conn.execute(CORE_DDL)
    for source in sources:
        conn.execute(table_ddl(source.raw_table, source.columns))
        if source.version_key:  # change feeds: each version of a record once
            name = source.raw_table.split(".")[1]
            conn.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_version_key "
                f"ON {source.raw_table} ({', '.join(source.version_key)})"
            )
        for table, columns in source.extra_tables.items():
            conn.execute(table_ddl(table, columns))
        comments = [  # the contract's own field names, visible to anyone browsing raw
            sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                sql.Identifier(*table.split(".")), sql.Identifier(column.name), sql.Literal(column.doc)
            )
            for table, columns in ((source.raw_table, source.columns), *source.extra_tables.items())
            for column in columns
            if column.doc
        ]
        if comments:  # one round trip, not one per column
            conn.execute(sql.SQL(";\n").join(comments))


def empty_raw_layer(dsn: str) -> None:
    """Forget everything ingested: every table of raw and quarantine. For tests and benchmarks only —
    the pipeline never deletes what it received."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('raw', 'quarantine')"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def held_months(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
    """(source, period) → status of every month raw holds (published, not_yet_published, …)."""
    return {
        (source, period): status
        for source, period, status in conn.execute("SELECT source, period, status FROM raw.source_months")
    }


def content_hash(payloads: list[Payload]) -> str:
    digest = hashlib.sha256()
    for p in payloads:
        digest.update(p.sha256.encode())
    return digest.hexdigest()


class Store:
    """Raw-layer writes for one source, over one warehouse connection."""

    def __init__(self, conn: psycopg.Connection, source):
        self.conn = conn
        self.source = source

    # --- month state --------------------------------------------------------------------
    def month_states(self, periods: list[str]) -> dict[str, dict]:
        """What we hold per month, for the months asked that have a row: status, current load, ETag,
        and every load of the month by content checksum (so a re-sent content is recognised without
        asking the database again)."""
        rows = self.conn.execute(
            "SELECT period, status, current_load_id, etag FROM raw.source_months WHERE source = %s AND period = ANY(%s)",
            (self.source.name, list(periods)),
        ).fetchall()
        states = {
            period: {"status": status, "current_load_id": load_id, "etag": etag, "loads": {}}
            for period, status, load_id, etag in rows
        }
        for period, content_sha256, load_id in self.conn.execute(
            "SELECT period, content_sha256, load_id FROM raw.loads WHERE source = %s AND period = ANY(%s)",
            (self.source.name, list(periods)),
        ):
            if period in states:  # a load and its month pointer are written in one transaction
                states[period]["loads"][content_sha256] = load_id
        return states

    def mark_checked(self, period: str, run_id: str | None, at: datetime, *, not_published: bool = False) -> None:
        """Asked at instant ``at`` and nothing new came (not published yet, or 304 unchanged)."""
        with self.conn.transaction():
            if not_published:  # never downgrade a month we hold data for
                self.conn.execute(
                    """INSERT INTO raw.source_months (source, period, status, run_id, last_checked_at)
                       VALUES (%s, %s, 'not_published', %s, %s)
                       ON CONFLICT (source, period) DO UPDATE SET checked_at = now(), run_id = EXCLUDED.run_id,
                           last_checked_at = EXCLUDED.last_checked_at""",
                    (self.source.name, period, run_id, at),
                )
            else:
                self.conn.execute(
                    """UPDATE raw.source_months SET checked_at = now(), run_id = %s, last_checked_at = %s
                       WHERE source = %s AND period = %s""",
                    (run_id, at, self.source.name, period),
                )

    # --- archive ------------------------------------------------------------------------
    def archive(self, period: str, payloads: list[Payload], run_id: str | None) -> None:
        """Keep every payload received, committed before anything parses it.

        One statement per payload (the body sent as binary, not escaped to hex): a file month is
        archived in a single round trip, a paged month's pages in one transaction, pipelined
        (executemany: an AMR month is ~360 pages at ×100, a round trip each otherwise)."""
        with self.conn.transaction() if len(payloads) > 1 else nullcontext(), self.conn.cursor() as cur:
            cur.executemany(
                """WITH kept AS (INSERT INTO raw.payloads (sha256, bytes, body) VALUES (%s, %s, %b)
                                 ON CONFLICT DO NOTHING)
                   INSERT INTO raw.fetches (source, period, url, page, http_status, etag, last_modified,
                                            content_type, sha256, run_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [
                    (
                        p.sha256,
                        len(p.body),
                        p.body,
                        self.source.name,
                        period,
                        p.url,
                        p.page,
                        p.http_status,
                        p.etag,
                        p.last_modified,
                        p.content_type,
                        p.sha256,
                        run_id,
                    )
                    for p in payloads
                ],
            )

    # --- load ---------------------------------------------------------------------------
    def load(
        self,
        period: str,
        payloads: list[Payload],
        parsed: Parsed,
        run_id: str | None,
        at: datetime,
        agency_published_at: datetime,
    ) -> int:
        """One transaction: the load row, its raw rows (COPY), its quarantine rows, the month pointer."""
        etag = payloads[-1].etag if payloads else None
        with self.conn.transaction():
            load_id = self.conn.execute(
                """INSERT INTO raw.loads (source, period, content_sha256, payload_sha256s, run_id,
                                          rows_loaded, rows_quarantined, records_received, records_promised)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING load_id""",
                (
                    self.source.name,
                    period,
                    content_hash(payloads),
                    [p.sha256 for p in payloads],
                    run_id,
                    len(parsed.rows),
                    len(parsed.rejected),
                    len(parsed.rows) + len(parsed.rejected),
                    parsed.promised,
                ),
            ).fetchone()[0]
            loaded = self._copy(
                self.source.raw_table,
                self.source.columns,
                load_id,
                parsed.rows,
                version_key=self.source.version_key,
            )
            if loaded != len(parsed.rows):
                self.conn.execute("UPDATE raw.loads SET rows_loaded = %s WHERE load_id = %s", (loaded, load_id))
            for table, rows in parsed.extras.items():
                self._copy(table, self.source.extra_tables[table], load_id, rows)
            sha_by_page = {p.page: p.sha256 for p in payloads}
            if parsed.rejected:
                with self.conn.cursor().copy(
                    "COPY quarantine.rows (load_id, source, period, payload_sha256, source_page, source_row,"
                    " reason, record) FROM STDIN"
                ) as copy:
                    for r in parsed.rejected:
                        copy.write_row(
                            (
                                load_id,
                                self.source.name,
                                period,
                                sha_by_page.get(r.page, ""),
                                r.page,
                                r.row,
                                r.reason,
                                json.dumps(r.record, ensure_ascii=False, default=str),
                            )
                        )
            self.point_to(
                period, load_id, etag, payloads[-1].last_modified if payloads else None, run_id, at, agency_published_at
            )
        return load_id

    def point_to(
        self,
        period: str,
        load_id: int,
        etag: str | None,
        last_modified: str | None,
        run_id: str | None,
        at: datetime,
        agency_published_at: datetime,
    ) -> None:
        """Make ``load_id`` the month's current content, as received at instant ``at``."""
        self.conn.execute(
            """INSERT INTO raw.source_months (source, period, status, current_load_id, etag, last_modified, run_id,
                                              agency_published_at, first_loaded_at, last_checked_at)
               VALUES (%s, %s, 'available', %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (source, period) DO UPDATE SET status = 'available',
                   current_load_id = EXCLUDED.current_load_id, etag = EXCLUDED.etag,
                   last_modified = EXCLUDED.last_modified, checked_at = now(), run_id = EXCLUDED.run_id,
                   agency_published_at = LEAST(raw.source_months.agency_published_at, EXCLUDED.agency_published_at),
                   first_loaded_at = COALESCE(raw.source_months.first_loaded_at, EXCLUDED.first_loaded_at),
                   last_checked_at = EXCLUDED.last_checked_at""",
            (self.source.name, period, load_id, etag, last_modified, run_id, agency_published_at, at, at),
        )

    def _copy(
        self,
        table: str,
        columns: tuple[Column, ...],
        load_id: int,
        rows: list[tuple],
        version_key: tuple[str, ...] | None = None,
    ) -> int:
        """COPY rows in; with a version key, versions already held are skipped. Returns rows added."""
        names = [c.name for c in (*POSITION_COLUMNS, *columns)]
        column_list = sql.SQL(", ").join(map(sql.Identifier, names))
        target = sql.Identifier(*table.split("."))
        if version_key:
            # a change feed lists a record again in each month it appears in (AMR: opened, closed…)
            # and a window read again repeats what raw holds: those versions are dropped first, and
            # the rest is COPYed straight in (as fast as a \copy), in a savepoint. Should a held
            # version remain (a timestamp Arrow does not read, a version twice in one month), that
            # COPY fails at the unique index and the rows take the path that skips what is held.
            rows = self._without_held(table, version_key, rows)
            try:
                with self.conn.transaction():
                    self._copy_rows(target, column_list, load_id, rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass
            self.conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                ).format(target)
            )
            self._copy_rows(sql.Identifier("incoming"), column_list, load_id, rows)
            with self.conn.cursor() as cur:
                cur.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM incoming ON CONFLICT ({}) DO NOTHING").format(
                        target, column_list, column_list, sql.SQL(", ").join(map(sql.Identifier, version_key))
                    )
                )
                added = cur.rowcount
                cur.execute("DROP TABLE incoming")
            return added
        self._copy_rows(target, column_list, load_id, rows)
        return len(rows)

    def _without_held(self, table: str, version_key: tuple[str, ...], rows):
        if not hasattr(rows, "without_versions") or len(version_key) != 2 or not len(rows):
            return rows
        ident, stamp = version_key
        # the month's ids as one text, split by the server: psycopg quotes a text[] element by element
        # (a regular expression each: 0.2 s a month of 30,000 court cases). An id holding the
        # separator only makes the query ask for more (or miss one: the COPY then falls back)
        held = self.conn.execute(
            sql.SQL(
                "SELECT {}, (extract(epoch FROM {}) * 1000000)::bigint FROM {} "
                "WHERE {} = ANY(string_to_array(%s, E'\\x1f'))"
            ).format(
                sql.Identifier(ident), sql.Identifier(stamp), sql.Identifier(*table.split(".")), sql.Identifier(ident)
            ),
            ("\x1f".join(rows.ids(ident)),),
        ).fetchall()
        return rows.without_versions(ident, stamp, held)

    def _copy_rows(self, into: sql.Composable, column_list: sql.Composable, load_id: int, rows) -> None:
        with self.conn.cursor() as cur:
            if hasattr(rows, "copy_blocks"):  # read a column at a time (ingest.columnar): COPY text already
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(into, column_list)) as copy:
                    for block in rows.copy_blocks(load_id):
                        copy.write(block)
            else:
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(into, column_list)) as copy:
                    for row in rows:
                        copy.write_row((load_id, *row))
