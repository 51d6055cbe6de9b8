"""Write-audit-publish: a blocking check leaves `published` exactly as it was and says why; a
process killed during the swap leaves the old or the new publication, never a mix; BI's role
reads `published` and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from ingest.http import Endpoint
from ingest.registry import SOURCES
from ingest.runner import ingest_months
from ipkpi.pipeline import steps as pipeline
from ipkpi.pipeline.publish import PublicationBlocked, candidate_schema
from sandbox import SandboxConfig, start_server

ROOT = Path(__file__).resolve().parent.parent
MONTHS = [f"{y}-{m:02d}" for y in (2020, 2021) for m in range(1, 13)]


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def execute(dsn: str, statement: str, params=()) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(statement, params)


def published_digest(dsn: str) -> dict[str, str]:
    """Every published table, row for row (the log view aside, which grows by design)."""
    out = {}
    with psycopg.connect(dsn) as conn:
        tables = [
            t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'published' ORDER BY 1")
        ]
        for table in tables:
            out[table] = conn.execute(
                f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f"FROM published.{table} AS t"
            ).fetchone()[0]
    return out


def ingest(dsn: str, server, credentials: dict, months=MONTHS, sources=SOURCES) -> None:
    for source in sources:
        conn_id = SOURCES[source]
        endpoint = Endpoint(conn_id, server.url, credentials[conn_id.removeprefix("ipkpi_")])
        ingest_months(source, months, dsn, endpoint)


def publish_once() -> str:
    publication_id = pipeline.begin("test", force=True)
    pipeline.transform(publication_id)
    pipeline.validate(publication_id)
    pipeline.publish(publication_id)
    return publication_id


def attempt() -> tuple[str, PublicationBlocked | None]:
    publication_id = pipeline.begin("test", force=True)
    pipeline.transform(publication_id)
    try:
        pipeline.validate(publication_id)
    except PublicationBlocked as exc:
        return publication_id, exc
    pipeline.publish(publication_id)
    return publication_id, None


@pytest.fixture(scope="module")
def pub_dsn(settings, warehouse, sandbox, sandbox_credentials):
    """A warehouse of its own, holding a good publication of 2020–2021."""
    from ipkpi.pipeline.warehouse import init_warehouse

    with psycopg.connect(settings.embedded_dsn("postgres", "postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ipkpi_pub WITH (FORCE)")
        conn.execute("CREATE DATABASE ipkpi_pub OWNER ipkpi_owner")
    dsn = settings.embedded_dsn("ipkpi_pub", "ipkpi_owner")
    init_warehouse(dsn, settings)
    previous = os.environ.get("IPKPI_WAREHOUSE_DSN")
    os.environ["IPKPI_WAREHOUSE_DSN"] = dsn
    ingest(dsn, sandbox, sandbox_credentials)
    publish_once()
    yield dsn
    if previous is None:
        os.environ.pop("IPKPI_WAREHOUSE_DSN", None)
    else:
        os.environ["IPKPI_WAREHOUSE_DSN"] = previous


def log_entry(dsn: str, publication_id: str) -> tuple[str, dict]:
    ((status, detail),) = rows(
        dsn, "SELECT status, detail FROM published.publication_log WHERE publication_id = %s", (publication_id,)
    )
    return status, detail


def blocking_checks(detail: dict) -> list[dict]:
    return [c for c in detail["gate"]["failed"] if c["severity"] == "error"]


def test_every_row_carries_its_publication(pub_dsn):
    ((current,),) = rows(
        pub_dsn,
        "SELECT publication_id FROM published.publication_log WHERE status = 'published' "
        "ORDER BY finished_at DESC LIMIT 1",
    )
    for table in ("kpi_values", "kpi_breakdown", "kpi_catalogue", "court_cases", "police_cases"):
        assert rows(pub_dsn, f"SELECT DISTINCT publication_id FROM published.{table}") == [(current,)]
    status, detail = log_entry(pub_dsn, current)
    assert status == "published" and "data_docs" not in detail["gate"]  # a server path: not for BI
    ((docs,),) = rows(
        pub_dsn,
        "SELECT detail -> 'gate' ->> 'data_docs' FROM audit.publication_log WHERE publication_id = %s",
        (current,),
    )
    assert docs.startswith("file://")


def test_statistics_ytd_below_previous_month_blocks(pub_dsn, sandbox, sandbox_credentials):
    before = published_digest(pub_dsn)
    trapped = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, traps={"ytd_decrease": "2021-05"})
    )
    try:
        ingest(pub_dsn, trapped, sandbox_credentials, months=["2021-05"], sources=["amr_statistics"])
    finally:
        trapped.stop()
    publication_id, blocked = attempt()
    assert blocked is not None and "2021-05" in str(blocked)
    assert published_digest(pub_dsn) == before
    status, detail = log_entry(pub_dsn, publication_id)
    assert status == "blocked"
    failed = blocking_checks(detail)
    assert any(r.get("period") == "2021-05" and r.get("indicator") for c in failed for r in c["detail"]["rows"])
    # the agency's correct document (a new content) heals it: the next run publishes again
    ingest(pub_dsn, sandbox, sandbox_credentials, months=["2021-05"], sources=["amr_statistics"])
    assert attempt()[1] is None


def test_customs_totals_mismatch_blocks(pub_dsn, sandbox, sandbox_credentials):
    before = published_digest(pub_dsn)
    trapped = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, traps={"customs_total_mismatch": "2020-03"})
    )
    try:
        ingest(pub_dsn, trapped, sandbox_credentials, months=["2020-03"], sources=["customs"])
    finally:
        trapped.stop()
    publication_id, blocked = attempt()
    assert blocked is not None and "合计" in str(blocked)
    assert published_digest(pub_dsn) == before
    status, detail = log_entry(pub_dsn, publication_id)
    assert status == "blocked"
    assert any(r.get("period") == "2020-03" for c in blocking_checks(detail) for r in c["detail"]["rows"])
    ingest(pub_dsn, sandbox, sandbox_credentials, months=["2020-03"], sources=["customs"])
    assert attempt()[1] is None


def test_a_small_month_wholly_quarantined_blocks(pub_dsn, sandbox, sandbox_credentials):
    """A police month of 3 records, every one quarantined (unknown region), would publish its counts
    as 0 and complete: the quarantine-rate rule blocks it through the real gate — the month is
    under 20 records, which the rule once skipped — and the agency's full export heals it."""
    before = published_digest(pub_dsn)
    trapped = start_server(
        "127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, traps={"police_small_bad_month": "2021-02"})
    )
    try:
        ingest(pub_dsn, trapped, sandbox_credentials, months=["2021-02"], sources=["police"])
    finally:
        trapped.stop()
    assert rows(
        pub_dsn,
        """SELECT l.records_received, l.rows_quarantined, l.rows_loaded FROM raw.loads l
                            JOIN raw.source_months m ON m.current_load_id = l.load_id
                            WHERE m.source = 'police' AND m.period = '2021-02'""",
    ) == [(3, 3, 0)]
    publication_id, blocked = attempt()
    assert blocked is not None and "quarantined" in str(blocked) and "period=2021-02" in str(blocked)
    assert published_digest(pub_dsn) == before
    status, detail = log_entry(pub_dsn, publication_id)
    assert status == "blocked"
    rate = [c for c in blocking_checks(detail) if c["suite"] == "raw_loads"]
    assert [
        (r["source"], r["period"], r["records_received"], r["rows_quarantined"])
        for c in rate
        for r in c["detail"]["rows"]
    ] == [("police", "2021-02", 3, 3)]
    ingest(pub_dsn, sandbox, sandbox_credentials, months=["2021-02"], sources=["police"])
    assert attempt()[1] is None


# (records received, quarantined, what the raw_loads quarantine-rate rules say): expectations/README.md
QUARANTINE_RATE_CASES = [
    (1, 1, "error"),
    (2, 1, "warning"),
    (3, 1, "warning"),
    (3, 2, "error"),
    (4, 3, "error"),
    (10, 3, "warning"),
    (10, 5, "error"),
    (19, 1, None),
    (20, 5, "error"),
    (40, 9, "error"),
    (40, 8, "warning"),
    (100, 5, None),
    (3, 0, None),
]


def test_the_quarantine_rate_rule_holds_for_every_month_size_and_feed(pub_dsn):
    """The suite's own two queries, as the gate runs them, over loads of every size and every feed
    (rolled back): which months warn and which block."""
    from ingest.registry import SOURCES
    from ipkpi.pipeline.gate import load_suites

    suite = next(s for s in load_suites() if s["name"] == "raw_loads")
    rules = {
        e["severity"]: e["kwargs"]["unexpected_rows_query"].replace("{batch}", "raw.loads")
        for e in suite["expectations"]
        if "quarantined" in e.get("meta", {}).get("why", "")
    }
    assert set(rules) == {"error", "warning"}
    feeds = list(SOURCES)
    with psycopg.connect(pub_dsn) as conn:
        expected = {}
        for i, (received, quarantined, verdict) in enumerate(QUARANTINE_RATE_CASES):
            source, period = feeds[i % len(feeds)], f"1990-{i + 1:02d}"
            ((load_id,),) = conn.execute(
                """INSERT INTO raw.loads (source, period, content_sha256, payload_sha256s, rows_loaded,
                                          rows_quarantined, records_received)
                   VALUES (%s, %s, 'test', '{}', %s, %s, %s) RETURNING load_id""",
                (source, period, received - quarantined, quarantined, received),
            ).fetchall()
            conn.execute(
                "INSERT INTO raw.source_months (source, period, status, current_load_id) "
                "VALUES (%s, %s, 'available', %s)",
                (source, period, load_id),
            )
            expected[(source, period)] = verdict
        flagged = {
            severity: {(r[0], r[1]) for r in conn.execute(query) if r[1].startswith("1990-")}
            for severity, query in rules.items()
        }
        conn.rollback()
    got = {
        key: "error" if key in flagged["error"] else "warning" if key in flagged["warning"] else None
        for key in expected
    }
    assert got == expected
    assert {source for source, _ in expected} == set(SOURCES)  # the statistics return included


def test_district_above_city_blocks(pub_dsn):
    """A mart invariant broken in the candidate (after dbt, before the gate)."""
    before = published_digest(pub_dsn)
    publication_id = pipeline.begin("test", force=True)
    pipeline.transform(publication_id)
    candidate = candidate_schema(publication_id)
    with psycopg.connect(pub_dsn) as conn:
        conn.execute(f"""UPDATE {candidate}.kpi_values d SET value = c.value + 1
                        FROM {candidate}.kpi_values c
                        WHERE d.kpi_code = 'court_cases_received' AND d.grain = 'year' AND d.period = '2021'
                          AND d.region_code = '330212' AND c.kpi_code = d.kpi_code AND c.grain = d.grain
                          AND c.period = d.period AND c.region_code = '330200'""")
    with pytest.raises(PublicationBlocked, match="district is never above its city"):
        pipeline.validate(publication_id)
    assert published_digest(pub_dsn) == before
    assert log_entry(pub_dsn, publication_id)[0] == "blocked"


def test_raw_row_rule_breach_blocks_naming_load_and_row(pub_dsn):
    """A raw row outside the contract (written behind the loader's back) is caught by the one-scan rules."""
    before = published_digest(pub_dsn)
    with psycopg.connect(pub_dsn) as conn:
        ((load_id, period),) = conn.execute(
            "SELECT current_load_id, period FROM raw.source_months "
            "WHERE source = 'police' AND current_load_id IS NOT NULL LIMIT 1"
        ).fetchall()
        conn.execute(
            """INSERT INTO raw.police_cases (load_id, source_page, source_row, case_id, filed_date,
                            offence, amount_yuan, suspects, lead_source, region_code)
                        VALUES (%s, 1, 9999, 'A-BAD', '2020-01-05', '假冒专利罪', 1, -3, '自行侦查', '330203')""",
            (load_id,),
        )
    try:
        publication_id, blocked = attempt()
        assert blocked is not None and "suspects out of range" in str(blocked)
        assert f"load_id={load_id}" in str(blocked) and f"period={period}" in str(blocked)
        assert "source_row=9999" in str(blocked)
        assert published_digest(pub_dsn) == before
    finally:
        with psycopg.connect(pub_dsn) as conn:
            conn.execute("DELETE FROM raw.police_cases WHERE case_id = 'A-BAD'")


SWAP_CHILD = textwrap.dedent("""
    import sys, time
    import psycopg
    from ipkpi.pipeline import publish
    real_connect = psycopg.connect
    class Stalling:
        # the swap's connection: stop after the first rename, inside the transaction
        def __init__(self, conn): self.conn = conn
        def __enter__(self): self.conn.__enter__(); return self
        def __exit__(self, *a): return self.conn.__exit__(*a)
        def execute(self, statement, *args):
            result = self.conn.execute(statement, *args)
            if "RENAME TO" in str(getattr(statement, "as_string", lambda c: statement)(self.conn)):
                print("MIDSWAP", flush=True)
                time.sleep(60)
            return result
    def connect(dsn, *args, **kwargs):
        conn = real_connect(dsn, *args, **kwargs)
        return conn if kwargs.get("autocommit") else Stalling(conn)
    publish.psycopg.connect = connect
    publish.swap(sys.argv[1], sys.argv[2])
""")


def test_killed_during_the_swap_leaves_the_old_publication(pub_dsn):
    before = published_digest(pub_dsn)
    publication_id = pipeline.begin("test", force=True)
    pipeline.transform(publication_id)
    pipeline.validate(publication_id)
    child = subprocess.Popen(
        [sys.executable, "-c", SWAP_CHILD, pub_dsn, publication_id],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout.readline().strip() == "MIDSWAP"
    # meanwhile a BI query is not blocked long and sees the whole old publication
    reader = psycopg.connect(pub_dsn, autocommit=True)
    reader.execute("SET statement_timeout = '5s'")
    assert reader.execute("SELECT count(DISTINCT publication_id) FROM published.kpi_values").fetchone() == (1,)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.close()
    time.sleep(0.5)
    assert published_digest(pub_dsn) == before
    # and the swap, run again, completes: the new publication, whole
    pipeline.publish(publication_id)
    assert rows(pub_dsn, "SELECT DISTINCT publication_id FROM published.kpi_values") == [(publication_id,)]


def test_bi_reader_reads_published_only(pub_dsn, settings):
    from ipkpi.pipeline.warehouse import bi_reader_dsn

    os.environ["IPKPI_WAREHOUSE_DSN"] = pub_dsn
    reader = bi_reader_dsn(settings)
    assert "ipkpi_pub" in reader
    assert rows(reader, "SELECT count(*) FROM published.kpi_values")[0][0] > 0
    assert rows(reader, "SELECT count(*) FROM published.publication_log")[0][0] > 0
    for relation in (
        "raw.loads",
        "raw.payloads",
        "quarantine.rows",
        "staging.stg_court__cases",
        "intermediate.int_source_coverage",
        "marts.kpi_values",
        "audit.publication_log",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rows(reader, f"SELECT 1 FROM {relation} LIMIT 1")
    for statement in (
        "CREATE TABLE published.x (i int)",
        "CREATE TABLE public.x (i int)",
        "DELETE FROM published.kpi_values",
        "CREATE TEMP TABLE x (i int)",
        "INSERT INTO published.kpi_catalogue (kpi_code) VALUES ('x')",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rows(reader, statement)


def test_loader_and_transformer_have_only_what_they_need(pub_dsn):
    privileges = dict(
        rows(
            pub_dsn,
            """
        SELECT check_name, ok FROM (VALUES
          ('loader inserts raw',        has_table_privilege('ipkpi_loader', 'raw.loads', 'INSERT')),
          ('loader writes quarantine',  has_table_privilege('ipkpi_loader', 'quarantine.rows', 'INSERT')),
          ('loader reads marts',        has_schema_privilege('ipkpi_loader', 'marts', 'USAGE')),
          ('loader reads published',    has_schema_privilege('ipkpi_loader', 'published', 'USAGE')),
          ('loader deletes raw',        has_table_privilege('ipkpi_loader', 'raw.loads', 'DELETE')),
          ('transformer reads raw',     has_table_privilege('ipkpi_transformer', 'raw.court_cases', 'SELECT')),
          ('transformer writes raw',    has_table_privilege('ipkpi_transformer', 'raw.court_cases', 'INSERT')),
          ('transformer builds marts',  has_schema_privilege('ipkpi_transformer', 'marts', 'CREATE')),
          -- dbt reads when a month was first published (published.source_months), never writes it
          ('transformer writes audit',  has_table_privilege('ipkpi_transformer', 'audit.publication_log',
                                                            'INSERT, UPDATE, DELETE')
                                        OR has_table_privilege('ipkpi_transformer', 'audit.source_month_first_published',
                                                               'INSERT, UPDATE, DELETE')
                                        OR has_schema_privilege('ipkpi_transformer', 'audit', 'CREATE'))
        ) AS t (check_name, ok)""",
        )
    )
    assert privileges == {
        "loader inserts raw": True,
        "loader writes quarantine": True,
        "loader reads marts": False,
        "loader reads published": False,
        "loader deletes raw": False,
        "transformer reads raw": True,
        "transformer writes raw": False,
        "transformer builds marts": True,
        "transformer writes audit": False,
    }
    # and the pipeline really ran as them: dbt's relations belong to the transformer
    owners = {
        o
        for (o,) in rows(
            pub_dsn,
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN ('staging', 'intermediate', 'marts')",
        )
    }
    assert owners == {"ipkpi_transformer"}
    # and `published` belongs to a role that cannot read raw: no view there can show raw data
    owners = {
        o
        for (o,) in rows(
            pub_dsn,
            "SELECT relowner::regrole::text FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'published' "
            "UNION SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'published'",
        )
    }
    assert owners == {"ipkpi_publisher"}
    assert rows(pub_dsn, "SELECT has_schema_privilege('ipkpi_publisher', 'raw', 'USAGE')") == [(False,)]


def test_a_retried_publish_after_a_committed_swap_succeeds(pub_dsn):
    """Airflow retries `publish` when its process dies after the swap committed: the retry finds the
    publication in place and succeeds, changing nothing."""
    publication_id = publish_once()
    before = published_digest(pub_dsn)
    pipeline.publish(publication_id)
    assert published_digest(pub_dsn) == before
    assert log_entry(pub_dsn, publication_id)[0] == "published"


class Busy(Exception):
    pass


def busy(holder):
    raise Busy(str(holder))


def test_one_publication_attempt_at_a_time(pub_dsn):
    """While an attempt is open, another cannot begin (the DAG reschedules it); once the first is
    published, the second begins and builds its own candidate."""
    first = pipeline.begin("first", force=True, run_id="run-a")
    with pytest.raises(Busy, match=f"publication {first} of run run-a"):
        pipeline.begin("second", force=True, run_id="run-b", on_busy=busy)
    pipeline.transform(first)
    pipeline.validate(first)
    pipeline.publish(first)
    second = pipeline.begin("second", force=True, run_id="run-b", on_busy=busy)
    assert candidate_schema(second) != candidate_schema(first)
    pipeline.transform(second)
    pipeline.validate(second)
    pipeline.publish(second)
    assert rows(pub_dsn, "SELECT DISTINCT publication_id FROM published.kpi_values") == [(second,)]


def test_an_abandoned_attempt_does_not_hold_the_lock(pub_dsn):
    """An attempt whose step failed for good (or whose run ended) no longer blocks the next one."""
    stuck = pipeline.begin("stuck", force=True, run_id="run-dead")
    with pytest.raises(Busy):
        pipeline.begin("next", force=True, on_busy=busy)
    from ipkpi.pipeline.publish import acquire_lock, new_publication_id

    assert acquire_lock(pub_dsn, new_publication_id(), "run-c", lambda run_id: run_id != "run-dead") is None
    assert log_entry(pub_dsn, stuck)[0] == "failed"
    execute(pub_dsn, "DELETE FROM audit.publication_lock")


def test_the_swap_publishes_only_what_its_gate_validated(pub_dsn):
    """A candidate changed after the gate passed it, or another attempt's candidate, is refused."""
    from ipkpi.pipeline.publish import CandidateMismatch

    before = published_digest(pub_dsn)
    publication_id = pipeline.begin("test", force=True)
    pipeline.transform(publication_id)
    pipeline.validate(publication_id)
    candidate = candidate_schema(publication_id)
    with psycopg.connect(pub_dsn) as conn:
        conn.execute(f"UPDATE {candidate}.kpi_values SET value = value + 1 WHERE kpi_code = 'court_cases_received'")
    with pytest.raises(CandidateMismatch, match="changed after the gate validated it"):
        pipeline.publish(publication_id)
    assert published_digest(pub_dsn) == before
    # an id that never passed the gate cannot be published either, whatever candidate exists
    with pytest.raises(CandidateMismatch, match="not validated"):
        pipeline.publish("pub-never-validated")
    execute(pub_dsn, "UPDATE audit.publication_log SET status = 'failed' WHERE publication_id = %s", (publication_id,))
    execute(pub_dsn, "DELETE FROM audit.publication_lock")


def test_runtime_login_cannot_escalate(pub_dsn, settings):
    """The tasks' login (ipkpi_runner) is neither superuser nor CREATEROLE: it cannot give itself
    pg_execute_server_program, run programs on the server, create roles or read server files."""
    from ipkpi.platform.services import airflow_env

    os.environ["IPKPI_WAREHOUSE_DSN"] = pub_dsn
    runner = settings.runtime_dsn
    assert "ipkpi_runner:" in runner and "ipkpi_pub" in runner
    assert airflow_env(settings)["IPKPI_WAREHOUSE_DSN"] == runner  # what every task connects with
    owner_password = settings.secrets["pg"]["ipkpi_owner"]
    assert [k for k, v in airflow_env(settings).items() if owner_password in v] == []
    assert rows(
        pub_dsn, "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'ipkpi_runner'"
    ) == [(False, False, False)]
    for statement in (
        "GRANT pg_execute_server_program TO ipkpi_runner",
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "CREATE ROLE intruder LOGIN SUPERUSER",
        "ALTER ROLE ipkpi_runner CREATEROLE",
        f"SELECT pg_read_file('{settings.secrets_file}')",
        f"COPY audit.publication_lock FROM '{settings.secrets_file}'",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            execute(runner, statement)
    # yet it does the pipeline's work: it read raw and wrote the audit log of the publication above
    assert rows(runner, "SELECT count(*) > 0 FROM raw.source_months") == [(True,)]


def test_no_view_in_published_can_show_raw(pub_dsn, settings):
    """A relation slipped into `published` (here a view on raw.fetches) belongs to the publisher at
    the next grant, which cannot read raw: BI gets an error, not the data."""
    from ipkpi.pipeline.warehouse import bi_reader_dsn, grant_published

    os.environ["IPKPI_WAREHOUSE_DSN"] = pub_dsn
    execute(pub_dsn, "CREATE VIEW published.leak AS SELECT * FROM raw.fetches")
    try:
        with psycopg.connect(pub_dsn, autocommit=True) as conn:
            grant_published(conn, "published")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            rows(bi_reader_dsn(settings), "SELECT * FROM published.leak LIMIT 1")
    finally:
        execute(pub_dsn, "DROP VIEW published.leak")


def test_bi_reader_is_set_up_for_bi_and_nothing_else(pub_dsn, settings):
    from ipkpi.pipeline.warehouse import bi_reader_dsn

    os.environ["IPKPI_WAREHOUSE_DSN"] = pub_dsn
    reader = bi_reader_dsn(settings)
    assert rows(reader, "SELECT count(*) > 0 FROM kpi_values") == [(True,)]  # search_path = published
    assert rows(reader, "SHOW statement_timeout") == [("1min",)]
    assert rows(pub_dsn, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'bi_reader'") == [(20,)]
    for database in ("airflow", "postgres"):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(reader.rsplit("/", 1)[0] + "/" + database).close()
    # no path of the pipeline's server in what BI reads
    texts = rows(reader, "SELECT detail::text FROM publication_log")
    assert texts and not any(str(settings.home) in text for (text,) in texts)


def test_a_retried_transform_resumes_its_attempt(pub_dsn, monkeypatch):
    """A failed dbt build ends the attempt (failed, lock released); Airflow's retry of the task
    takes it back and the attempt publishes — unless another attempt began in between."""
    import ipkpi.pipeline.transform
    from ipkpi.pipeline.transform import TransformError

    build = ipkpi.pipeline.transform.build

    def flaky(*args, **kwargs):
        raise TransformError("dbt build failed (a lost connection)")

    publication_id = pipeline.begin("test", force=True, run_id="run-retry")
    monkeypatch.setattr(ipkpi.pipeline.transform, "build", flaky)
    with pytest.raises(TransformError):
        pipeline.transform(publication_id, "run-retry")
    assert log_entry(pub_dsn, publication_id)[0] == "failed"
    assert rows(pub_dsn, "SELECT count(*) FROM audit.publication_lock") == [(0,)]
    monkeypatch.setattr(ipkpi.pipeline.transform, "build", build)
    pipeline.transform(publication_id, "run-retry")  # the retry
    pipeline.validate(publication_id)
    pipeline.publish(publication_id)
    assert rows(pub_dsn, "SELECT DISTINCT publication_id FROM published.kpi_values") == [(publication_id,)]
    # a retry after another attempt began cannot resume
    stale = pipeline.begin("stale", force=True, run_id="run-stale")
    monkeypatch.setattr(ipkpi.pipeline.transform, "build", flaky)
    with pytest.raises(TransformError):
        pipeline.transform(stale, "run-stale")
    monkeypatch.setattr(ipkpi.pipeline.transform, "build", build)
    other = pipeline.begin("other", force=True, run_id="run-other")
    with pytest.raises(RuntimeError, match=f"cannot resume: publication {other}"):
        pipeline.transform(stale, "run-stale")
    execute(pub_dsn, "UPDATE audit.publication_log SET status = 'failed' WHERE publication_id = %s", (other,))
    execute(pub_dsn, "DELETE FROM audit.publication_lock")
