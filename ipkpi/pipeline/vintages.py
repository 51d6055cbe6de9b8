"""Vintages: every publication kept, cell by cell (MART.md "Vintages").

The swap replaces the `published` schema whole; what it replaced is not lost. In the swap's own
transaction, :func:`record` stores the new publication as a vintage of the `vintage` schema
(owned by ipkpi_publisher, read by BI through views in `published`):

- ``vintage.<relation>_history`` — for kpi_values, kpi_breakdown, source_months and
  source_payloads (what the white paper reads, so a paper can be made again from its vintage):
  each row's values with the vintage it first appeared in and the one that superseded it (null
  while current). A row republished unchanged is not stored again, so history grows with revisions,
  not with publications. Rows are only ever inserted; a row's ``valid_to`` is set once.
- ``vintage.revisions`` — one row per cell whose value changed between consecutive vintages, with
  the reason traced to raw: the source month behind it (its load and payload checksum), classified
  as a re-issued file, a statistics revision (with its number), a late month, a revoked or voided
  record, a rollback, or other (e.g. a change of the transformation).
- ``vintage.publications`` — the vintages in order (``vintage_no``), each with its kind (a run, or
  a rollback to an earlier vintage).
- ``vintage.whitepapers`` — which vintage each generated white paper read (retention keeps them).

`published` gains, at every swap: the views ``publications``, ``revisions``, ``whitepapers`` and
``<relation>_history``, and the functions ``<relation>_as_of(publication_id)`` and
``<relation>_at(timestamptz)``, which return exactly the rows the relation held then — its row
type, column for column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

# published relation -> its grain (primary key); each row's other columns are its values
TRACKED = {
    "kpi_values": ("kpi_code", "grain", "period", "region_code"),
    "kpi_breakdown": ("kpi_code", "grain", "period", "region_code", "dimension", "member"),
    "source_months": ("source", "period"),
    "source_payloads": ("source", "period", "payload_position"),  # the white paper's provenance appendix
}
CELLS = ("kpi_values", "kpi_breakdown")  # revisions are about these cells' value
STAMP = "publication_id"  # every published row carries its publication: not part of a vintage's values

# why a cell changed; the first that applies to a cell is its reason (most specific first)
REASONS = ("rollback", "revoked_record", "statistics_revision", "reissued_file", "late_month", "other")

VINTAGE_DDL = """
CREATE SCHEMA IF NOT EXISTS vintage;
CREATE TABLE IF NOT EXISTS vintage.publications (
    vintage_no            int PRIMARY KEY,
    publication_id        text NOT NULL UNIQUE,
    published_at          timestamptz NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('run', 'rollback')),
    rollback_of           text,
    previous_publication  text,
    periods               text,
    cells_changed         int NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS vintage.revisions (
    publication_id        text NOT NULL,
    vintage_no            int NOT NULL,
    previous_publication  text NOT NULL,
    relation              text NOT NULL CHECK (relation IN ('kpi_values', 'kpi_breakdown')),
    kpi_code              text NOT NULL,
    grain                 text NOT NULL,
    period                text NOT NULL,
    region_code           text NOT NULL,
    dimension             text,
    member                text,
    old_value             numeric,
    new_value             numeric,
    reason                text NOT NULL CHECK (reason IN ('reissued_file', 'statistics_revision', 'late_month',
                                                          'revoked_record', 'rollback', 'other')),
    reason_detail         text NOT NULL,
    source                text,
    source_period         text,
    load_id               bigint,
    payload_sha256        text
);
CREATE INDEX IF NOT EXISTS revisions_by_vintage ON vintage.revisions (vintage_no);
CREATE TABLE IF NOT EXISTS vintage.whitepapers (
    year            int NOT NULL,
    publication_id  text NOT NULL,
    generated_at    timestamptz NOT NULL DEFAULT now(),
    figures_sha256  text NOT NULL,
    PRIMARY KEY (year, generated_at)
);
-- a publication, once written, is never overwritten: a vintage's rows are only inserted, and a
-- history row's valid_to is set once, when a later vintage supersedes it (retention may delete)
CREATE OR REPLACE FUNCTION vintage.written_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME LIKE '%\\_history' THEN  -- nested: only a history row has valid_to_vintage
        IF to_jsonb(OLD) ->> 'valid_to_vintage' IS NULL
           AND to_jsonb(NEW) - 'valid_to_publication' - 'valid_to_vintage'
               = to_jsonb(OLD) - 'valid_to_publication' - 'valid_to_vintage' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'vintage.% is written once: a publication is never overwritten', TG_TABLE_NAME;
END $$;
CREATE OR REPLACE TRIGGER written_once BEFORE UPDATE ON vintage.publications
    FOR EACH ROW EXECUTE FUNCTION vintage.written_once();
CREATE OR REPLACE TRIGGER written_once BEFORE UPDATE ON vintage.revisions
    FOR EACH ROW EXECUTE FUNCTION vintage.written_once();
ALTER SCHEMA vintage OWNER TO ipkpi_publisher;
ALTER FUNCTION vintage.written_once() OWNER TO ipkpi_publisher;
ALTER TABLE vintage.publications OWNER TO ipkpi_publisher;
ALTER TABLE vintage.revisions OWNER TO ipkpi_publisher;
ALTER TABLE vintage.whitepapers OWNER TO ipkpi_publisher;
REVOKE ALL ON SCHEMA vintage FROM bi_reader;
"""


def columns(conn: psycopg.Connection, schema: str, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns, in order."""
    return conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        (schema, relation),
    ).fetchall()


def history_table(relation: str) -> sql.Composed:
    return sql.SQL("vintage.{}").format(sql.Identifier(f"{relation}_history"))


def ensure_history(conn: psycopg.Connection, schema: str, relation: str) -> list[str]:
    """The relation's history table, with every value column the publication has (a column added
    to the mart is added here: earlier vintages hold NULL in it). Returns the value columns."""
    key = TRACKED[relation]
    cols = [(name, kind) for name, kind in columns(conn, schema, relation) if name != STAMP]
    table = history_table(relation)
    conn.execute("SET LOCAL ROLE ipkpi_publisher")  # the publisher owns every vintage
    if not conn.execute("SELECT to_regclass(%s)", (f"vintage.{relation}_history",)).fetchone()[0]:
        definition = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(k)) for n, k in cols)
        conn.execute(
            sql.SQL("""CREATE TABLE {} ({}, valid_from_publication text NOT NULL, valid_to_publication text,
                                valid_from_vintage int NOT NULL, valid_to_vintage int)""").format(table, definition)
        )
        keys = sql.SQL(", ").join(map(sql.Identifier, key))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} ({}, valid_from_vintage)").format(table, keys))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} ({}) WHERE valid_to_vintage IS NULL").format(table, keys))
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER written_once BEFORE UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION vintage.written_once()"
            ).format(table)
        )
    else:
        held = {name for name, _ in columns(conn, "vintage", f"{relation}_history")}
        for name, kind in cols:
            if name not in held:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(table, sql.Identifier(name), sql.SQL(kind))
                )
    conn.execute("RESET ROLE")
    return [name for name, _ in cols]


@dataclass(frozen=True)
class Vintage:
    vintage_no: int
    publication_id: str


def current(conn: psycopg.Connection) -> Vintage | None:
    row = conn.execute(
        "SELECT vintage_no, publication_id FROM vintage.publications ORDER BY vintage_no DESC LIMIT 1"
    ).fetchone()
    return Vintage(*row) if row else None


def find(conn: psycopg.Connection, publication_id: str, schema: str = "vintage") -> Vintage:
    """The vintage of a publication id (``schema``: ``published`` reads the views BI reads)."""
    row = conn.execute(
        sql.SQL("SELECT vintage_no, publication_id FROM {}.publications WHERE publication_id = %s").format(
            sql.Identifier(schema)
        ),
        (publication_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"{publication_id} is not a kept vintage (ipkpi publications lists them)")
    return Vintage(*row)


def record(
    conn: psycopg.Connection,
    schema: str,
    publication_id: str,
    *,
    published_at: datetime | None = None,
    periods: str | None = None,
    rollback_of: str | None = None,
) -> int:
    """Store the publication in ``schema`` as the next vintage, in the caller's transaction (the
    swap's); its revisions against the previous vintage, with reasons. Returns the cells changed."""
    conn.execute("LOCK TABLE vintage.publications IN EXCLUSIVE MODE")  # vintages are numbered one at a time
    previous = current(conn)
    number = previous.vintage_no + 1 if previous else 1
    for relation, key in TRACKED.items():
        names = ensure_history(conn, schema, relation)
        table, candidate = (
            history_table(relation),
            sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(relation)),
        )
        same_key = sql.SQL(" AND ").join(sql.SQL("c.{0} = h.{0}").format(sql.Identifier(k)) for k in key)
        values = [n for n in names if n not in key]
        same_values = sql.SQL("({}) IS NOT DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(v)) for v in values),
            sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(v)) for v in values),
        )
        # a current row the publication no longer holds as it is: superseded by this vintage
        conn.execute(
            sql.SQL("""UPDATE {table} h SET valid_to_publication = %s, valid_to_vintage = %s
                                WHERE h.valid_to_vintage IS NULL
                                  AND NOT EXISTS (SELECT 1 FROM {candidate} c WHERE {same_key} AND {same_values})""").format(
                table=table, candidate=candidate, same_key=same_key, same_values=same_values
            ),
            (publication_id, number),
        )
        # a row of the publication with no current row (new, or its old one just superseded): stored
        listed = sql.SQL(", ").join(map(sql.Identifier, names))
        conn.execute(
            sql.SQL("""INSERT INTO {table} ({listed}, valid_from_publication, valid_from_vintage)
                                SELECT {from_c}, %s, %s FROM {candidate} c
                                WHERE NOT EXISTS (SELECT 1 FROM {table} h WHERE h.valid_to_vintage IS NULL
                                                  AND {same_key})""").format(
                table=table,
                listed=listed,
                candidate=candidate,
                same_key=same_key,
                from_c=sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(n)) for n in names),
            ),
            (publication_id, number),
        )
    changed = 0
    if previous is not None:
        changed = record_revisions(conn, schema, publication_id, number, previous.publication_id, rollback_of)
    conn.execute(
        """INSERT INTO vintage.publications (vintage_no, publication_id, published_at, kind, rollback_of,
                                                      previous_publication, periods, cells_changed)
                    VALUES (%s, %s, coalesce(%s, now()), %s, %s, %s, %s, %s)""",
        (
            number,
            publication_id,
            published_at,
            "rollback" if rollback_of else "run",
            rollback_of,
            previous.publication_id if previous else None,
            periods,
            changed,
        ),
    )
    return changed


# --- revisions and their reasons ---------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """A source month whose state changed between two vintages, and what kind of change it was."""

    source: str
    period: str
    reason: str
    detail: str
    load_id: int | None
    payload_sha256: str | None


def changed_cells(conn: psycopg.Connection, number: int) -> list[tuple]:
    """(relation, kpi_code, grain, period, region_code, dimension, member, old, new) of every cell
    that held a value in the previous vintage and holds another (or none) in vintage ``number``."""
    out = []
    for relation in CELLS:
        key = TRACKED[relation]
        keys = sql.SQL(", ").join(map(sql.Identifier, key))
        dims = sql.SQL("o.dimension, o.member") if "dimension" in key else sql.SQL("NULL::text, NULL::text")
        out += conn.execute(
            sql.SQL(
                """SELECT %s, o.kpi_code, o.grain, o.period, o.region_code, {dims}, o.value, n.value
               FROM (SELECT * FROM {table} WHERE valid_to_vintage = %s) o
               LEFT JOIN (SELECT * FROM {table} WHERE valid_from_vintage = %s) n USING ({keys})
               WHERE o.value IS DISTINCT FROM n.value"""
            ).format(dims=dims, table=history_table(relation), keys=keys),
            (relation, number, number),
        ).fetchall()
    return out


def source_month_causes(conn: psycopg.Connection, number: int) -> dict[str, list[Cause]]:
    """Each source month whose load changed with vintage ``number``, classified from raw."""
    from ingest.registry import SOURCES, connector

    rows = conn.execute(
        """SELECT coalesce(n.source, o.source), coalesce(n.period, o.period), coalesce(o.is_available, false),
                  coalesce(n.is_available, false), o.load_id, n.load_id, l.payload_sha256s[1]
           FROM (SELECT * FROM vintage.source_months_history WHERE valid_to_vintage = %s) o
           FULL JOIN (SELECT * FROM vintage.source_months_history WHERE valid_from_vintage = %s) n
                USING (source, period)
           LEFT JOIN raw.loads l ON l.load_id = n.load_id
           WHERE o.load_id IS DISTINCT FROM n.load_id OR o.is_available IS DISTINCT FROM n.is_available""",
        (number, number),
    ).fetchall()
    causes: dict[str, list[Cause]] = {}
    for source, period, was, now, old_load, new_load, payload in rows:
        if not now or new_load is None:
            continue  # a month withdrawn: the cells it leaves are explained as "other"
        feed = connector(source) if source in SOURCES else None
        reason, detail = classify(conn, source, period, feed, was and old_load is not None, old_load, new_load)
        causes.setdefault(source, []).append(Cause(source, period, reason, detail, new_load, payload))
    return causes


def classify(conn, source: str, period: str, feed, was_held: bool, old_load, new_load) -> tuple[str, str]:
    revoked = feed.revoked if feed else None  # (column, value) of a record counting nowhere once revoked
    if revoked is not None:
        column, value = revoked
        count = sql.SQL("SELECT count(*) FROM {} WHERE load_id = %s AND {} = %s").format(
            sql.SQL(feed.raw_table), sql.Identifier(column)
        )
        now = conn.execute(count, (new_load, value)).fetchone()[0]
        before = conn.execute(count, (old_load, value)).fetchone()[0] if was_held else 0
        if now > before:
            return "revoked_record", f"{now - before} record(s) {value} in {source} {period} (load {new_load})"
    if not was_held:
        return "late_month", f"{source} {period} first loaded (load {new_load})"
    if feed and "revision" in {c.name for c in feed.columns}:
        revisions = conn.execute(
            sql.SQL("SELECT load_id, max(revision) FROM {} WHERE load_id IN (%s, %s) GROUP BY load_id").format(
                sql.SQL(feed.raw_table)
            ),
            (old_load, new_load),
        ).fetchall()
        numbers = dict(revisions)
        return "statistics_revision", (
            f"{source} {period} revision {numbers.get(new_load)} replaces revision {numbers.get(old_load)}"
        )
    if feed and feed.version_key:  # a change feed: its window brought changed records
        return "other", f"{source} window {period} brought changed records (load {new_load} after {old_load})"
    return "reissued_file", f"{source} {period} re-issued (load {new_load} replaces {old_load})"


def cause_of(
    cell_grain: str, cell_period: str, source: str | None, causes: dict[str, list[Cause]], change_feed: bool
) -> tuple[Cause | None, str]:
    """The most specific change of the cell's source that can explain it — one of the cell's own
    months first (a year is its months); for a change feed also a later window (a record of the
    period changed then); among those by REASONS' order, then the latest month — and the others
    that may have contributed, in words ("" if none)."""
    if source is None:
        return None, ""
    months = (lambda p: p == cell_period) if cell_grain == "month" else (lambda p: p[:4] == cell_period)
    first = cell_period if cell_grain == "month" else f"{cell_period}-01"
    candidates = [(0, c) for c in causes.get(source, []) if months(c.period)]
    if change_feed:
        candidates += [(1, c) for c in causes.get(source, []) if not months(c.period) and c.period > first]
    if not candidates:
        return None, ""
    ranked = sorted(candidates, key=lambda pc: (pc[0], REASONS.index(pc[1].reason), _desc(pc[1].period)))
    others: dict[str, list[str]] = {}
    for _, other in ranked[1:]:
        others.setdefault(other.reason, []).append(other.period)
    also = "; ".join(
        f"{reason} {min(periods)}" + (f"…{max(periods)} ({len(periods)} months)" if len(periods) > 1 else "")
        for reason, periods in others.items()
    )
    return ranked[0][1], (f"; also {also}" if also else "")


def _desc(period: str) -> tuple:
    return tuple(-ord(ch) for ch in period)


def record_revisions(
    conn: psycopg.Connection, schema: str, publication_id: str, number: int, previous: str, rollback_of: str | None
) -> int:
    from ingest.registry import SOURCES, connector

    cells = changed_cells(conn, number)
    if not cells:
        return 0
    source_of = dict(
        conn.execute(sql.SQL("SELECT kpi_code, source FROM {}.kpi_catalogue").format(sql.Identifier(schema))).fetchall()
    )
    causes = {} if rollback_of else source_month_causes(conn, number)
    rows = []
    for relation, kpi, grain, period, region, dimension, member, old, new in cells:
        source = source_of.get(kpi)
        if rollback_of:
            reason, detail, cause = "rollback", f"rollback to {rollback_of}", None
        else:
            feed = connector(source) if source in SOURCES else None
            cause, also = cause_of(grain, period, source, causes, bool(feed and feed.version_key))
            if cause is None:
                reason, detail = (
                    "other",
                    (
                        f"no month of {source} behind {period} changed: a change of the "
                        "transformation or of another KPI it derives from"
                    ),
                )
            else:
                reason, detail = cause.reason, cause.detail + also
        rows.append(
            (
                publication_id,
                number,
                previous,
                relation,
                kpi,
                grain,
                period,
                region,
                dimension,
                member,
                old,
                new,
                reason,
                detail,
                cause.source if cause else source,
                cause.period if cause else None,
                cause.load_id if cause else None,
                cause.payload_sha256 if cause else None,
            )
        )
    with conn.cursor() as cur:
        with cur.copy("""COPY vintage.revisions (publication_id, vintage_no, previous_publication, relation, kpi_code,
                         grain, period, region_code, dimension, member, old_value, new_value, reason, reason_detail,
                         source, source_period, load_id, payload_sha256) FROM STDIN""") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


# --- what BI sees: views and as-of functions in `published` -------------------------------------

COMMENTS = {
    "publications": "发布版本：每次发布（含回滚）按顺序保留，vintage_no 递增 / Vintages: every publication "
    "(rollbacks included) in order; is_current marks the one BI reads",
    "revisions": "数据修订：相邻两个版本之间数值变化的每个单元格，附原因（可追溯到原始数据）/ Revisions: every "
    "cell whose value changed between consecutive vintages, with the reason traced to raw",
    "whitepapers": "白皮书生成记录：每次生成所读取的发布版本 / White papers generated: the vintage each one read "
    "(ipkpi whitepaper --publication regenerates it exactly)",
    "history": "{name} 的历史：每行数值及其生效版本（valid_from）与被取代版本（valid_to，当前为空）/ History of "
    "{name}: each row's values, the vintage it first appeared in and the one that superseded it "
    "(NULL while current)",
}
COLUMN_COMMENTS = {
    "vintage_no": "版本序号 / Vintage number (1, 2, …): the order of publication",
    "publication_id": "发布编号 / Publication id",
    "published_at": "发布时间 / When it was published",
    "kind": "类型：run 正常发布 / rollback 回滚 / run or rollback",
    "rollback_of": "回滚到的版本 / For a rollback: the vintage restored",
    "previous_publication": "前一版本 / The vintage it superseded",
    "periods": "覆盖的月份 / The months the run covered",
    "cells_changed": "变化的单元格数 / Cells whose value changed from the previous vintage",
    "is_current": "是否当前版本 / Whether BI reads this vintage now",
    "valid_from_publication": "首次出现的版本 / The publication this value first appeared in",
    "valid_to_publication": "被取代的版本（当前为空）/ The publication that superseded it (NULL while current)",
    "valid_from_vintage": "首次出现的版本序号 / vintage_no of valid_from_publication",
    "valid_to_vintage": "被取代的版本序号 / vintage_no of valid_to_publication",
    "year": "白皮书年度 / The year the white paper covers",
    "generated_at": "生成时间 / When it was generated",
    "figures_sha256": "figures.json 的校验和 / SHA-256 of the paper's figures.json",
    "relation": "所属表 kpi_values | kpi_breakdown / The relation of the cell",
    "old_value": "修订前数值 / Value in the previous vintage",
    "new_value": "修订后数值 / Value in this vintage (NULL: the cell is gone)",
    "reason": "原因 reissued_file | statistics_revision | late_month | revoked_record | rollback | other",
    "reason_detail": "原因说明 / The reason in words (revision numbers, loads)",
    "source": "来源 / The agency feed behind the change",
    "source_period": "来源月份 / The source month (or change-feed window) behind the change",
    "load_id": "载入编号 / The raw load that brought the change",
    "payload_sha256": "原始数据校验和 / SHA-256 of the payload received (raw.payloads)",
}


def expose(conn: psycopg.Connection, schema: str) -> None:
    """The vintage views and as-of functions in a freshly swapped-in ``schema`` (owned by the
    publisher, so BI reads them with the publisher's rights and nothing else)."""
    target = sql.Identifier(schema)
    conn.execute("SET LOCAL ROLE ipkpi_publisher")
    conn.execute(
        sql.SQL("""CREATE VIEW {s}.publications AS
        SELECT vintage_no, publication_id, published_at, kind, rollback_of, previous_publication, periods,
               cells_changed, vintage_no = max(vintage_no) OVER () AS is_current
        FROM vintage.publications""").format(s=target)
    )
    conn.execute(
        sql.SQL("""CREATE VIEW {s}.revisions AS
        SELECT r.vintage_no, r.publication_id, p.published_at, r.previous_publication, r.relation, r.kpi_code,
               r.grain, r.period, r.region_code, r.dimension, r.member, r.old_value, r.new_value, r.reason,
               r.reason_detail, r.source, r.source_period, r.load_id, r.payload_sha256
        FROM vintage.revisions r JOIN vintage.publications p USING (vintage_no)""").format(s=target)
    )
    conn.execute(
        sql.SQL("""CREATE VIEW {s}.whitepapers AS
        SELECT w.year, w.publication_id, p.vintage_no, w.generated_at, w.figures_sha256
        FROM vintage.whitepapers w LEFT JOIN vintage.publications p USING (publication_id)""").format(s=target)
    )
    comment(conn, schema, "publications", COMMENTS["publications"])
    comment(conn, schema, "whitepapers", COMMENTS["whitepapers"])
    comment(conn, schema, "revisions", COMMENTS["revisions"], like="kpi_breakdown", own_first=True)
    for relation in TRACKED:
        names = [n for n, _ in columns(conn, schema, relation)]
        history = f"{relation}_history"
        kept = [n for n, _ in columns(conn, "vintage", history)]
        conn.execute(
            sql.SQL("CREATE VIEW {}.{} AS SELECT {} FROM vintage.{}").format(
                target, sql.Identifier(history), sql.SQL(", ").join(map(sql.Identifier, kept)), sql.Identifier(history)
            )
        )
        comment(conn, schema, history, COMMENTS["history"].format(name=relation), like=relation)
        # the relation's own row type, column for column: the stamp is the vintage asked for
        select = sql.SQL(", ").join(
            sql.SQL("p_publication_id") if n == STAMP else sql.SQL("h.{}").format(sql.Identifier(n)) for n in names
        )
        conn.execute(
            sql.SQL("""
            CREATE FUNCTION {s}.{as_of}(p_publication_id text) RETURNS SETOF {s}.{rel}
            LANGUAGE plpgsql STABLE AS $fn$
            DECLARE n int;
            BEGIN
                SELECT v.vintage_no INTO n FROM {s}.publications v WHERE v.publication_id = p_publication_id;
                IF n IS NULL THEN
                    RAISE EXCEPTION 'publication % is not a kept vintage (see publications)', p_publication_id;
                END IF;
                RETURN QUERY SELECT {select} FROM {s}.{history} h
                    WHERE h.valid_from_vintage <= n AND (h.valid_to_vintage IS NULL OR h.valid_to_vintage > n);
            END $fn$""").format(
                s=target,
                as_of=sql.Identifier(f"{relation}_as_of"),
                rel=sql.Identifier(relation),
                select=select,
                history=sql.Identifier(history),
            )
        )
        conn.execute(
            sql.SQL("""
            CREATE FUNCTION {s}.{at}(p_at timestamptz) RETURNS SETOF {s}.{rel}
            LANGUAGE plpgsql STABLE AS $fn$
            DECLARE p text;
            BEGIN
                SELECT v.publication_id INTO p FROM {s}.publications v WHERE v.published_at <= p_at
                ORDER BY v.vintage_no DESC LIMIT 1;
                IF p IS NOT NULL THEN
                    RETURN QUERY SELECT * FROM {s}.{as_of}(p);
                END IF;
            END $fn$""").format(
                s=target,
                at=sql.Identifier(f"{relation}_at"),
                rel=sql.Identifier(relation),
                as_of=sql.Identifier(f"{relation}_as_of"),
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON FUNCTION {}.{}(text) IS {}").format(
                target,
                sql.Identifier(f"{relation}_as_of"),
                sql.Literal(f"{relation} 在某一发布版本时的内容 / Exactly what {relation} held in that publication"),
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON FUNCTION {}.{}(timestamptz) IS {}").format(
                target,
                sql.Identifier(f"{relation}_at"),
                sql.Literal(
                    f"{relation} 在某一时刻的内容 / Exactly what {relation} held at that instant (the "
                    "vintage current then; no rows before the first)"
                ),
            )
        )
    conn.execute("RESET ROLE")


def comment(
    conn: psycopg.Connection, schema: str, view: str, text: str, like: str | None = None, own_first: bool = False
) -> None:
    """Comment a view and its columns: from the same column of ``like``, else from COLUMN_COMMENTS
    (``own_first``: the other way round)."""
    conn.execute(
        sql.SQL("COMMENT ON VIEW {}.{} IS {}").format(sql.Identifier(schema), sql.Identifier(view), sql.Literal(text))
    )
    inherited = {}
    if like:
        inherited = dict(
            conn.execute(
                "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                (f"{schema}.{like}",),
            ).fetchall()
        )
    for name, _ in columns(conn, schema, view):
        first, second = (COLUMN_COMMENTS, inherited) if own_first else (inherited, COLUMN_COMMENTS)
        text = first.get(name) or second.get(name)
        if text:
            conn.execute(
                sql.SQL("COMMENT ON COLUMN {}.{}.{} IS {}").format(
                    sql.Identifier(schema), sql.Identifier(view), sql.Identifier(name), sql.Literal(text)
                )
            )


# --- reading vintages: as-of rows, lists, diffs ---------------------------------------------------


def as_of_select(
    relation: str, names: list[str], vintage_no: int, stamp: str | None = None, schema: str = "vintage"
) -> sql.Composed:
    """SELECT the relation's rows in a vintage, its columns ``names`` in order, stamped with
    ``stamp`` (a publication id) or with the vintage's own id; from the ``vintage`` tables, or
    through the views of ``published`` (what bi_reader may read)."""
    listed = sql.SQL(", ").join(
        (sql.Literal(stamp) if stamp else sql.SQL("v.publication_id"))
        if n == STAMP
        else sql.SQL("h.{}").format(sql.Identifier(n))
        for n in names
    )
    return sql.SQL("""SELECT {listed} FROM {s}.{history} h JOIN {s}.publications v ON v.vintage_no = {n}
                      WHERE h.valid_from_vintage <= {n} AND (h.valid_to_vintage IS NULL OR h.valid_to_vintage > {n})
                   """).format(
        listed=listed,
        s=sql.Identifier(schema),
        history=sql.Identifier(f"{relation}_history"),
        n=sql.Literal(vintage_no),
    )


def publications(conn: psycopg.Connection) -> list[dict]:
    """Every publication attempt (newest first), with its vintage when it was published."""
    cur = conn.execute(
        """SELECT l.publication_id, coalesce(v.published_at, l.finished_at, l.started_at) AS at, l.status,
                  v.vintage_no, v.kind, v.rollback_of, l.periods, v.cells_changed,
                  v.vintage_no = (SELECT max(vintage_no) FROM vintage.publications) AS is_current
           FROM audit.publication_log l LEFT JOIN vintage.publications v USING (publication_id)
           ORDER BY coalesce(v.published_at, l.finished_at, l.started_at) DESC, l.started_at DESC"""
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


@dataclass(frozen=True)
class Change:
    relation: str
    kpi_code: str
    grain: str
    period: str
    region_code: str
    dimension: str | None
    member: str | None
    old_value: object
    new_value: object
    reason: str
    reason_detail: str
    source: str | None
    source_period: str | None
    payload_sha256: str | None


def diff(conn: psycopg.Connection, first: str, second: str, schema: str = "published") -> list[Change]:
    """Cells whose value differs between two vintages (either order), each with the reason of its
    last revision between them; a cell the first does not hold is ``first_published``."""
    a, b = find(conn, first, schema), find(conn, second, schema)
    low, high = sorted((a.vintage_no, b.vintage_no))
    changes = []
    for relation in CELLS:
        key = list(TRACKED[relation])
        names = key + ["value"]
        dims = sql.SQL("d.dimension, d.member") if "dimension" in key else sql.SQL("NULL::text, NULL::text")
        join_key = sql.SQL(", ").join(map(sql.Identifier, key))
        rows = conn.execute(
            sql.SQL(
                """WITH o AS ({old}), n AS ({new}),
                    d AS (SELECT {key}, o.value AS old_value, n.value AS new_value, o.grain IS NULL AS is_new
                          FROM o FULL JOIN n USING ({key}) WHERE o.value IS DISTINCT FROM n.value)
               SELECT d.kpi_code, d.grain, d.period, d.region_code, {dims}, d.old_value, d.new_value,
                      CASE WHEN d.is_new THEN 'first_published' ELSE r.reason END,
                      CASE WHEN d.is_new THEN 'not in ' || %(old)s ELSE r.reason_detail END,
                      r.source, r.source_period, r.payload_sha256
               FROM d LEFT JOIN LATERAL (
                   SELECT * FROM {s}.revisions r WHERE r.relation = %(rel)s AND r.kpi_code = d.kpi_code
                     AND r.grain = d.grain AND r.period = d.period AND r.region_code = d.region_code
                     AND r.dimension IS NOT DISTINCT FROM {rdim} AND r.member IS NOT DISTINCT FROM {rmem}
                     AND r.vintage_no > %(low)s AND r.vintage_no <= %(high)s
                   ORDER BY r.vintage_no DESC LIMIT 1) r ON true
               ORDER BY d.kpi_code, d.grain DESC, d.period, d.region_code, 5, 6"""
            ).format(
                old=as_of_select(relation, names, a.vintage_no, schema=schema),
                new=as_of_select(relation, names, b.vintage_no, schema=schema),
                s=sql.Identifier(schema),
                key=join_key,
                dims=dims,
                rdim=sql.SQL("d.dimension") if "dimension" in key else sql.SQL("NULL"),
                rmem=sql.SQL("d.member") if "dimension" in key else sql.SQL("NULL"),
            ),
            {"rel": relation, "low": low, "high": high, "old": a.publication_id},
        ).fetchall()
        for kpi, grain, period, region, dim, member, old, new, reason, detail, source, source_period, sha in rows:
            changes.append(
                Change(
                    relation,
                    kpi,
                    grain,
                    period,
                    region,
                    dim,
                    member,
                    old,
                    new,
                    reason or "other",
                    detail or "changed and changed back between the two",
                    source,
                    source_period,
                    sha,
                )
            )
    return changes


# --- rollback ----------------------------------------------------------------------------------


class RollbackRefused(RuntimeError):
    pass


# what the swap itself creates in every publication (not cloned: made again for the new one)
MADE_BY_SWAP = ("publication_log", "publications", "revisions", "whitepapers", *(f"{r}_history" for r in TRACKED))


def clone_schema(conn: psycopg.Connection, source: str, target: str) -> None:
    """A copy of a publication's relations — tables with their keys, indexes and comments, views
    over the copy — so a rollback republishes what BI reads now, with an earlier vintage's figures."""
    s, t = sql.Identifier(source), sql.Identifier(target)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(t))
    relations = conn.execute(
        """SELECT c.oid, c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = %s::regnamespace
           AND c.relkind IN ('r', 'v') AND c.relname <> ALL(%s) ORDER BY c.oid""",
        (source, list(MADE_BY_SWAP)),
    ).fetchall()
    for _, name, kind in relations:
        if kind == "r":
            conn.execute(
                sql.SQL("CREATE TABLE {t}.{n} (LIKE {s}.{n} INCLUDING ALL)").format(t=t, s=s, n=sql.Identifier(name))
            )
            conn.execute(sql.SQL("INSERT INTO {t}.{n} SELECT * FROM {s}.{n}").format(t=t, s=s, n=sql.Identifier(name)))
    # definitions printed relative to the source schema, re-read relative to the target one
    conn.execute(sql.SQL("SET LOCAL search_path = {}").format(s))
    foreign = conn.execute(
        """SELECT r.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
           JOIN pg_class r ON r.oid = k.conrelid WHERE r.relnamespace = %s::regnamespace AND k.contype = 'f'
           ORDER BY k.oid""",
        (source,),
    ).fetchall()
    views = [
        (
            name,
            conn.execute("SELECT pg_get_viewdef(%s)", (oid,)).fetchone()[0],
            conn.execute("SELECT obj_description(%s, 'pg_class')", (oid,)).fetchone()[0],
            conn.execute(
                "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                "WHERE a.attrelid = %s AND a.attnum > 0",
                (oid,),
            ).fetchall(),
        )
        for oid, name, kind in relations
        if kind == "v"
    ]
    conn.execute(sql.SQL("SET LOCAL search_path = {}").format(t))
    for table, constraint, definition in foreign:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
                t, sql.Identifier(table), sql.Identifier(constraint), sql.SQL(definition)
            )
        )
    for name, definition, text, column_texts in views:  # dbt made them in dependency order: the oids keep it
        conn.execute(sql.SQL("CREATE VIEW {}.{} AS {}").format(t, sql.Identifier(name), sql.SQL(definition)))
        if text:
            conn.execute(sql.SQL("COMMENT ON VIEW {}.{} IS {}").format(t, sql.Identifier(name), sql.Literal(text)))
        for column, note in column_texts:
            if note:
                conn.execute(
                    sql.SQL("COMMENT ON COLUMN {}.{}.{} IS {}").format(
                        t, sql.Identifier(name), sql.Identifier(column), sql.Literal(note)
                    )
                )
    conn.execute("RESET search_path")


def record_whitepaper(dsn: str, year: int, publication_id: str, figures_sha256: str) -> None:
    """A white paper was generated from this vintage: retention keeps it, and the next paper's
    数据修订说明 lists what changed since."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO vintage.whitepapers (year, publication_id, figures_sha256) VALUES (%s, %s, %s)",
            (year, publication_id, figures_sha256),
        )


def republish(
    dsn: str,
    change: Callable[[psycopg.Connection, str, str], None],
    *,
    periods: str | None,
    fingerprint: str,
    detail: dict,
) -> str:
    """A new publication made from the current one: its relations cloned into a candidate,
    ``change(conn, candidate schema, publication id)`` applied, every row stamped, the digest
    recorded as validated, and swapped in under the publication lock. Returns its id."""
    from ipkpi.pipeline.publish import (
        PUBLISHED,
        abandon_attempt,
        acquire_lock,
        candidate_digest,
        candidate_schema,
        drop_other_candidates,
        finish_attempt,
        log_attempt,
        new_publication_id,
        release_lock,
        swap,
    )

    publication_id = new_publication_id()
    holder = acquire_lock(dsn, publication_id, None)
    if holder is not None:
        raise RollbackRefused(f"{holder} is publishing now: try again when it has finished")
    try:
        drop_other_candidates(dsn, publication_id)
        log_attempt(dsn, publication_id, periods, fingerprint=fingerprint)
        schema = candidate_schema(publication_id)
        with psycopg.connect(dsn) as conn:
            clone_schema(conn, PUBLISHED, schema)
            for (table,) in conn.execute(  # every published row carries the publication it belongs to
                "SELECT c.table_name FROM information_schema.columns c JOIN pg_tables t "
                "ON t.schemaname = c.table_schema AND t.tablename = c.table_name "
                "WHERE c.table_schema = %s AND c.column_name = %s",
                (schema, STAMP),
            ).fetchall():
                conn.execute(
                    sql.SQL("UPDATE {}.{} SET {} = %s").format(
                        sql.Identifier(schema), sql.Identifier(table), sql.Identifier(STAMP)
                    ),
                    (publication_id,),
                )
            change(conn, schema, publication_id)
            digest = candidate_digest(conn, schema)
        finish_attempt(
            dsn,
            publication_id,
            "running",
            detail={
                **detail,
                "validated": {"candidate": schema, "digest": digest, "gate": detail.get("gate", "not run")},
            },
        )
        swap(dsn, publication_id)
    except BaseException:
        with psycopg.connect(dsn, autocommit=True) as conn:
            abandon_attempt(conn, publication_id, "republishing failed")
        release_lock(dsn, publication_id)
        raise
    return publication_id


def rollback(dsn: str, target: str) -> tuple[str, int]:
    """Make vintage ``target`` current again, atomically, as a new publication of kind rollback:
    every relation of the current publication, with the vintage's tracked relations (its figures,
    source months and payloads). Those passed the gate when ``target`` was published; the swap
    checks the candidate is exactly what was assembled here. Returns (its id, cells changed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        wanted, now = find(conn, target), current(conn)
        periods = conn.execute(
            "SELECT periods FROM vintage.publications WHERE vintage_no = %s", (wanted.vintage_no,)
        ).fetchone()[0]
    if now and now.publication_id == target:
        raise RollbackRefused(f"{target} is the current publication already: nothing to roll back")

    def restore(conn: psycopg.Connection, schema: str, publication_id: str) -> None:
        for relation in TRACKED:
            names = [n for n, _ in columns(conn, schema, relation)]
            conn.execute(sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(relation)))
            conn.execute(
                sql.SQL("INSERT INTO {}.{} ({}) {}").format(
                    sql.Identifier(schema),
                    sql.Identifier(relation),
                    sql.SQL(", ").join(map(sql.Identifier, names)),
                    as_of_select(relation, names, wanted.vintage_no, stamp=publication_id),
                )
            )

    publication_id = republish(
        dsn,
        restore,
        periods=periods,
        fingerprint=f"rollback to {target}",
        detail={"rollback_of": target, "gate": f"passed when {target} was published"},
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        changed = conn.execute(
            "SELECT cells_changed FROM vintage.publications WHERE publication_id = %s", (publication_id,)
        ).fetchone()[0]
    return publication_id, changed
