"""The release calendar (ingest.calendar): which months a scheduled run asks for, and when a month
stops being asked — against the sandbox with its clock moved, and the real raw layer."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

from ingest.calendar import MonthHeld, Rhythm, due_at, due_months, ended_months, is_due, settles_at
from ingest.registry import connector
from ingest.runner import ingest_months
from tests.ingest.conftest import query

TZ = "Asia/Shanghai"
FILES = Rhythm(lag_days=14, revisable_months=12)
CHANGE_FEED = Rhythm(lag_days=1, revisable_months=0)


def test_ended_months_and_due_instants():
    at = pendulum.datetime(2025, 3, 1, 0, tz=TZ)
    assert ended_months("2024-11", at) == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert ended_months("2024-11", at.subtract(seconds=1)) == ["2024-11", "2024-12", "2025-01"]
    assert due_at("2025-02", FILES) == pendulum.datetime(2025, 3, 15, tz=TZ)


def test_a_month_is_asked_until_it_can_no_longer_change():
    published = pendulum.datetime(2025, 3, 12, 10, tz=TZ)
    settle = settles_at(published, FILES)
    assert settle == pendulum.datetime(2026, 3, 19, 10, tz=TZ)  # 12 months of re-issues + 7 days
    assert is_due("2025-02", None, FILES)  # never asked
    assert is_due("2025-02", MonthHeld("not_published", None, published), FILES)  # asked, not out yet
    assert is_due("2025-02", MonthHeld("available", published, settle - timedelta(seconds=1)), FILES)
    assert not is_due("2025-02", MonthHeld("available", published, settle), FILES)  # the last check is done
    month_end = pendulum.datetime(2025, 3, 1, tz=TZ)
    assert is_due("2025-02", MonthHeld("available", month_end, month_end.add(days=6)), CHANGE_FEED)
    assert not is_due("2025-02", MonthHeld("available", month_end, month_end.add(days=7)), CHANGE_FEED)


def test_an_agency_s_lag_is_configurable(monkeypatch):
    from ingest.calendar import rhythm_of

    assert rhythm_of(connector("customs")).lag_days == connector("customs").rhythm.lag_days
    monkeypatch.setenv("IPKPI_LAG_DAYS_CUSTOMS", "35")
    assert rhythm_of(connector("customs")).lag_days == 35
    assert due_at("2025-02", rhythm_of(connector("customs"))) == pendulum.datetime(2025, 4, 5, tz=TZ)
    monkeypatch.setenv("IPKPI_LAG_DAYS_CUSTOMS", "３５")
    with pytest.raises(ValueError, match="IPKPI_LAG_DAYS_CUSTOMS"):
        rhythm_of(connector("customs"))


@pytest.fixture
def clocked(sandbox_credentials):
    """A sandbox whose clock the test moves (the session's own stays at its default)."""
    from sandbox import SandboxConfig, start_server

    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials))
    yield server
    server.stop()


def run_at(source: str, instant, raw_db, server, endpoint_for, conn_id: str) -> tuple[list[str], object]:
    """One scheduled run of a source at ``instant``: the months due, then their ingest."""
    import psycopg

    server.set_clock(instant)
    with psycopg.connect(raw_db) as conn:
        months = due_months(conn, connector(source), "2025-01", instant)
    return months, ingest_months(source, months, raw_db, endpoint_for(conn_id, server), at=instant)


def test_a_file_month_is_picked_up_late_rechecked_cheaply_then_settled(raw_db, clocked, endpoint_for):
    events = [
        e
        for e in clocked.dataset.publication_events()
        if e["source"] == "police" and e["period"] == "2025-03" and e["kind"] == "first"
    ]
    published = events[0]["at"]
    before = pendulum.instance(published).subtract(hours=1)
    months, report = run_at("police", before, raw_db, clocked, endpoint_for, "ipkpi_police")
    assert months[-1] == "2025-03" and report.months[-1].outcome == "not_published"
    months, report = run_at(
        "police", pendulum.instance(published).add(hours=1), raw_db, clocked, endpoint_for, "ipkpi_police"
    )
    assert "2025-03" in months and report.months[months.index("2025-03")].outcome == "loaded"
    ((agency_at,),) = query(
        raw_db, "SELECT agency_published_at FROM raw.source_months WHERE source = 'police' AND period = '2025-03'"
    )
    assert agency_at == published
    # asked again every day of the re-issue window, answered 304 (If-None-Match): nothing reloaded
    later = pendulum.instance(published).add(months=6)
    months, report = run_at("police", later, raw_db, clocked, endpoint_for, "ipkpi_police")
    assert report.months[months.index("2025-03")].outcome == "unchanged"
    # once more after it settles, then never again
    settled = settles_at(published, connector("police").rhythm)
    months, _ = run_at("police", settled.add(hours=1), raw_db, clocked, endpoint_for, "ipkpi_police")
    assert "2025-03" in months
    months, _ = run_at("police", settled.add(days=1), raw_db, clocked, endpoint_for, "ipkpi_police")
    assert "2025-03" not in months
    assert query(raw_db, "SELECT count(*) FROM raw.loads WHERE source = 'police' AND period = '2025-03'") == [(1,)]


def test_a_revision_published_eleven_months_late_is_picked_up(raw_db, clocked, endpoint_for):
    """A statistics period re-published 11–12 months after its first revision: the scheduled run
    right after still asks for it and loads revision 2."""
    revisions = {
        e["period"]: e["at"]
        for e in clocked.dataset.publication_events()
        if e["source"] == "amr_statistics" and e["kind"] == "revision"
    }
    firsts = {
        e["period"]: e["at"]
        for e in clocked.dataset.publication_events()
        if e["source"] == "amr_statistics" and e["kind"] == "first"
    }
    late = [p for p, at in revisions.items() if at >= pendulum.instance(firsts[p]).add(months=11)]
    assert late, "the sandbox has a revision 11 months after its period's first publication"
    period = late[0]
    first_run = pendulum.instance(firsts[period]).add(hours=1)
    clocked.set_clock(first_run)
    ingest_months("amr_statistics", [period], raw_db, endpoint_for("ipkpi_amr", clocked), at=first_run)
    assert query(
        raw_db,
        "SELECT DISTINCT s.revision FROM raw.amr_statistics s JOIN raw.source_months m "
        "ON m.current_load_id = s.load_id WHERE m.period = %s",
        (period,),
    ) == [(1,)]
    import psycopg

    revision_run = pendulum.instance(revisions[period]).add(hours=1)
    clocked.set_clock(revision_run)
    with psycopg.connect(raw_db) as conn:
        months = due_months(conn, connector("amr_statistics"), period, revision_run)
    assert period in months
    ingest_months("amr_statistics", months, raw_db, endpoint_for("ipkpi_amr", clocked), at=revision_run)
    assert query(
        raw_db,
        "SELECT DISTINCT s.revision FROM raw.amr_statistics s JOIN raw.source_months m "
        "ON m.current_load_id = s.load_id WHERE m.period = %s",
        (period,),
    ) == [(2,)]


def test_a_change_feed_month_is_read_when_it_ends_and_once_more_after_it_settles(raw_db, clocked, endpoint_for):
    end = pendulum.datetime(2025, 4, 1, tz=TZ)
    months, report = run_at("court", end.subtract(minutes=1), raw_db, clocked, endpoint_for, "ipkpi_court")
    assert "2025-03" not in months  # the window is still open
    months, report = run_at("court", end.add(hours=20), raw_db, clocked, endpoint_for, "ipkpi_court")
    assert report.months[months.index("2025-03")].outcome == "loaded"
    months, report = run_at("court", end.add(days=7, hours=20), raw_db, clocked, endpoint_for, "ipkpi_court")
    assert report.months[months.index("2025-03")].outcome == "same_content"  # nothing recorded late
    months, _ = run_at("court", end.add(days=8, hours=20), raw_db, clocked, endpoint_for, "ipkpi_court")
    assert "2025-03" not in months
