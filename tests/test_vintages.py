"""Issue 15: every publication kept as a vintage (MART.md "Vintages").

Through the sandbox and the real Airflow: the year 2020 is published at three instants of the
sandbox's clock — before a statistics revision (amr_statistics 2020-03, revision 2), after it and
after the year's last months arrived late, and after a re-issued customs workbook (2020-06) — then
rolled back, and moved forward again by the next run. After each publication `kpi_values` and
`kpi_breakdown` are snapshotted as text, row by row: the vintages must give them back exactly.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import psycopg
import pytest

from tests.conftest import connections_to, ipkpi

pytestmark = pytest.mark.e2e

YEAR = "2020"
ORDER = {
    "kpi_values": "kpi_code, grain, period, region_code",
    "kpi_breakdown": "kpi_code, grain, period, region_code, dimension, member",
}


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


def snapshot(dsn: str, source: str = "published.{relation}") -> dict[str, list[str]]:
    """Each relation's rows as Postgres prints them, in key order (a byte-for-byte comparison)."""
    return {
        relation: [
            r for (r,) in rows(dsn, f"SELECT t::text FROM {source.format(relation=relation)} t ORDER BY {order}")
        ]
        for relation, order in ORDER.items()
    }


def unstamped(dsn: str, source: str = "published.{relation}") -> dict[str, list[tuple]]:
    """The same, without the publication stamp (a rollback republishes a vintage under a new id)."""
    out = {}
    for relation, order in ORDER.items():
        with psycopg.connect(dsn) as conn:
            cur = conn.execute(f"SELECT * FROM {source.format(relation=relation)} ORDER BY {order}")
            stamp = [c.name for c in cur.description].index("publication_id")
            out[relation] = [r[:stamp] + r[stamp + 1 :] for r in cur.fetchall()]
    return out


def current_id(dsn: str) -> str:
    return rows(dsn, "SELECT DISTINCT publication_id FROM published.kpi_values")[0][0]


@pytest.fixture(scope="module")
def vintages(stack, settings, sandbox_credentials, tmp_path_factory):
    """Three publications of 2020 at three instants, snapshotted, and a white paper of the second."""
    from sandbox import SandboxConfig, start_server
    from tests.mart.harness import fresh_database

    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials))
    events = server.dataset.publication_events()
    revision = next(
        e for e in events if e["source"] == "amr_statistics" and e["period"] == "2020-03" and e["kind"] == "revision"
    )
    reissue = next(
        e for e in events if e["source"] == "customs" and e["period"] == "2020-06" and e["kind"] == "reissue"
    )
    year_complete = max(e["at"] for e in events if e["period"].startswith(YEAR) and e["kind"] == "first")
    assert revision["at"] < year_complete < reissue["at"]
    instants = [
        revision["at"] - timedelta(days=1),
        year_complete + timedelta(hours=1),
        reissue["at"] + timedelta(hours=1),
    ]
    dsn = fresh_database(settings, "ipkpi_vintages")
    env = {**connections_to(server, sandbox_credentials), "IPKPI_WAREHOUSE_DSN": dsn}
    out = tmp_path_factory.mktemp("whitepaper")
    published, snapshots, plain = [], [], []
    for instant in instants:
        server.set_clock(instant)
        result = ipkpi("run", "--from", f"{YEAR}-01", "--to", f"{YEAR}-12", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        published.append(current_id(dsn))
        snapshots.append(snapshot(dsn))
        plain.append(unstamped(dsn))
        if instant == instants[1]:  # the year is complete: its white paper, from the current publication
            paper = ipkpi("whitepaper", "--year", YEAR, "--out", str(out / "issued"), env=env)
            assert paper.returncode == 0, paper.stdout + paper.stderr
    yield {
        "dsn": dsn,
        "env": env,
        "server": server,
        "published": published,
        "snapshots": snapshots,
        "unstamped": plain,
        "out": out,
        "instants": instants,
    }
    server.stop()


def test_as_of_gives_back_each_publication_exactly(vintages):
    dsn = vintages["dsn"]
    for publication_id, expected in zip(vintages["published"], vintages["snapshots"]):
        assert snapshot(dsn, f"published.{{relation}}_as_of('{publication_id}')") == expected
    # at an instant: the vintage current then; before the first, nothing
    first_at, second_at = (
        rows(dsn, "SELECT published_at FROM published.publications WHERE publication_id = %s", (p,))[0][0]
        for p in vintages["published"][:2]
    )
    between = first_at + (second_at - first_at) / 2
    assert snapshot(dsn, f"published.{{relation}}_at('{between.isoformat()}')") == vintages["snapshots"][0]
    assert rows(dsn, "SELECT count(*) FROM published.kpi_values_at(%s)", (first_at - timedelta(seconds=1),)) == [(0,)]
    with pytest.raises(psycopg.errors.RaiseException, match="not a kept vintage"):
        rows(dsn, "SELECT * FROM published.kpi_values_as_of('pub-never')")


def test_history_grows_with_revisions_not_publications(vintages):
    dsn = vintages["dsn"]
    second, third = vintages["unstamped"][1:]
    for relation in ORDER:
        # a row (without its stamp) that the next publication holds unchanged is not stored again
        new_rows = set(third[relation]) - set(second[relation])
        stored = rows(
            dsn,
            f"SELECT count(*) FROM published.{relation}_history WHERE valid_from_publication = %s",
            (vintages["published"][2],),
        )[0][0]
        assert 0 < stored == len(new_rows) < len(third[relation])
    sizes = [len(s["kpi_values"]) for s in vintages["snapshots"]]
    assert rows(dsn, "SELECT count(*) FROM published.kpi_values_history")[0][0] < sum(sizes)


def test_revisions_name_their_reason_and_payload(vintages):
    dsn = vintages["dsn"]
    _, second, third = vintages["published"]
    reasons = dict(
        rows(dsn, "SELECT reason, count(*) FROM published.revisions WHERE publication_id = %s GROUP BY 1", (second,))
    )
    assert reasons.get("statistics_revision") and reasons.get("late_month"), reasons
    revised = rows(
        dsn,
        """SELECT DISTINCT source, source_period, reason_detail FROM published.revisions
                           WHERE publication_id = %s AND reason = 'statistics_revision'""",
        (second,),
    )
    assert ("amr_statistics", "2020-03") in {(s, p) for s, p, _ in revised}
    assert any("revision 2" in detail for _, _, detail in revised)
    reissued = rows(
        dsn,
        """SELECT DISTINCT source, source_period, payload_sha256, load_id FROM published.revisions
                            WHERE publication_id = %s AND reason = 'reissued_file'""",
        (third,),
    )
    assert {(s, p) for s, p, _, _ in reissued} == {("customs", "2020-06")}
    ((_, _, sha, load_id),) = reissued
    # the payload behind it is the re-issued workbook, kept in raw, the month's current load
    current = rows(
        dsn,
        "SELECT l.load_id, l.payload_sha256s FROM raw.source_months m JOIN raw.loads l "
        "ON l.load_id = m.current_load_id WHERE m.source = 'customs' AND m.period = '2020-06'",
    )
    assert current == [(load_id, [sha])]
    assert rows(dsn, "SELECT count(*) FROM raw.payloads WHERE sha256 = %s", (sha,)) == [(1,)]
    # every changed cell has its row, with the values the snapshots hold
    cells = rows(
        dsn,
        """SELECT kpi_code, grain, period, region_code, old_value, new_value FROM published.revisions
                         WHERE publication_id = %s AND relation = 'kpi_values'""",
        (third,),
    )
    old = {
        r[:4]: r[4]
        for r in rows(
            dsn, "SELECT kpi_code, grain, period, region_code, value FROM published.kpi_values_as_of(%s)", (second,)
        )
    }
    assert cells and all(old[c[:4]] == c[4] for c in cells)
    assert (
        rows(dsn, "SELECT cells_changed FROM published.publications WHERE publication_id = %s", (third,))[0][0]
        == rows(dsn, "SELECT count(*) FROM published.revisions WHERE publication_id = %s", (third,))[0][0]
    )


def test_diff_and_publications_commands(vintages):
    env, (_, second, third) = vintages["env"], vintages["published"]
    shown = ipkpi("diff", second, third, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "reissued_file: customs 2020-06 re-issued" in shown.stdout
    print(shown.stdout[:3000])  # the closing note quotes one
    as_csv = ipkpi("diff", second, third, "--csv", env=env)
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    total = int(shown.stdout.split(": ")[1].split(" cells")[0])
    assert len(table) == total > 0 and {r["reason"] for r in table} >= {"reissued_file"}
    listing = ipkpi("publications", env=env)
    assert listing.returncode == 0 and third in listing.stdout and "current" in listing.stdout
    assert ipkpi("diff", second, "pub-never", env=env).returncode == 2


def test_rollback_restores_a_vintage_and_the_next_run_moves_forward(vintages):
    dsn, env = vintages["dsn"], vintages["env"]
    _, second, third = vintages["published"]
    expected_back, expected_forward = unstamped(dsn, f"published.{{relation}}_as_of('{second}')"), unstamped(dsn)
    result = ipkpi("rollback", second, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rolled = current_id(dsn)
    assert rolled not in (second, third)
    assert unstamped(dsn) == expected_back
    assert rows(dsn, "SELECT kind, rollback_of FROM published.publications WHERE publication_id = %s", (rolled,)) == [
        ("rollback", second)
    ]
    assert {
        r for (r,) in rows(dsn, "SELECT DISTINCT reason FROM published.revisions WHERE publication_id = %s", (rolled,))
    } == {"rollback"}
    # every published row carries the rollback's id, also outside the vintage's relations
    assert rows(dsn, "SELECT DISTINCT publication_id FROM published.kpi_catalogue") == [(rolled,)]
    assert ipkpi("rollback", rolled, env=env).returncode == 1  # already current: refused, nothing changes
    forward = ipkpi("run", "--from", f"{YEAR}-01", "--to", f"{YEAR}-12", env=env)
    assert forward.returncode == 0, forward.stdout + forward.stderr
    assert f"supersedes the rollback {rolled}" in forward.stdout
    assert unstamped(dsn) == expected_forward


def test_bi_reads_the_vintages(vintages, settings):
    from urllib.parse import urlsplit

    from ipkpi.pipeline.warehouse import bi_reader_dsn

    reader = urlsplit(bi_reader_dsn(settings))._replace(path="/ipkpi_vintages").geturl()
    first = vintages["published"][0]
    for relation in ("publications", "revisions", "kpi_values_history", "kpi_breakdown_history"):
        rows(reader, f"SELECT * FROM {relation} LIMIT 1")
    assert snapshot(reader, f"{{relation}}_as_of('{first}')") == vintages["snapshots"][0]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows(reader, "SELECT * FROM vintage.revisions LIMIT 1")


def test_pinned_white_paper_and_revision_notes(vintages):
    env, out = vintages["env"], vintages["out"]
    issued = json.loads(next((out / "issued").rglob("figures.json")).read_text())
    pinned = ipkpi(
        "whitepaper", "--year", YEAR, "--publication", vintages["published"][1], "--out", str(out / "pinned"), env=env
    )
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert json.loads(next((out / "pinned").rglob("figures.json")).read_text()) == issued
    # and the same page, number for number
    assert next((out / "pinned").rglob("*.html")).read_text() == next((out / "issued").rglob("*.html")).read_text()
    current = ipkpi("whitepaper", "--year", YEAR, "--out", str(out / "current"), env=env)
    assert current.returncode == 0, current.stdout + current.stderr
    # the current paper's 数据修订说明: the city's 2020 figures the re-issued workbook changed since the
    # paper of the second publication, each named, with the reason in words
    notes = next((out / "current").rglob("*.html")).read_text().split("附录五", 1)[1]
    changed = rows(
        vintages["dsn"],
        """SELECT DISTINCT c.name_zh FROM published.revisions r
                                       JOIN published.kpi_catalogue c USING (kpi_code)
                                       WHERE r.publication_id = %s AND r.relation = 'kpi_values' AND r.grain = 'year'
                                         AND r.region_code = '330200'""",
        (vintages["published"][2],),
    )
    assert changed and all(name in notes for (name,) in changed)
    assert "数据文件重新发布" in notes and "没有修订" not in notes
    issued_notes = next((out / "pinned").rglob("*.html")).read_text().split("附录五", 1)[1]
    assert "没有修订" in issued_notes  # as issued: no paper before it


def test_retention_keeps_what_a_white_paper_read(vintages):
    from ipkpi.pipeline.retention import prune_vintages

    dsn = vintages["dsn"]
    first, second = vintages["published"][:2]
    with psycopg.connect(dsn) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="written once"):
            conn.execute("UPDATE vintage.kpi_values_history SET value = 0")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="written once"):
            conn.execute("UPDATE vintage.revisions SET new_value = 0")
        conn.rollback()
        # eleven years pass (the test goes around the guard that stops anyone from rewriting a vintage)
        conn.execute("ALTER TABLE vintage.publications DISABLE TRIGGER written_once")
        conn.execute(
            "UPDATE vintage.publications SET published_at = published_at - interval '11 years' "
            "WHERE publication_id IN (%s, %s)",
            (first, second),
        )
        conn.execute("ALTER TABLE vintage.publications ENABLE TRIGGER written_once")
    expected = snapshot(dsn, f"published.{{relation}}_as_of('{second}')")
    gone, history_rows = prune_vintages(dsn, years=10)
    assert gone == 1 and history_rows > 0  # the first; the second was read by the white paper
    assert [p for (p,) in rows(dsn, "SELECT publication_id FROM published.publications")].count(first) == 0
    assert snapshot(dsn, f"published.{{relation}}_as_of('{second}')") == expected
