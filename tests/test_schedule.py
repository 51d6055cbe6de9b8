"""Issue 13: the schedule alone keeps `published` converged with what the agencies publish.

A year of the deployed schedule is replayed through the real Airflow services, in lock-step with
the sandbox's clock: at each instant the sandbox answers as the agencies would then, and
`ipkpi run --at` starts exactly the run the scheduler starts at that instant. No backfill, no
person: late months, re-issues and revisions must arrive by themselves, and the end state must
be what a full backfill of the same range publishes (SOURCES.md, "Publication timing").
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pendulum
import psycopg
import pytest

from tests.conftest import connections_to, ipkpi

pytestmark = pytest.mark.e2e

TZ = "Asia/Shanghai"
FIRST_MONTH = "2025-01"  # the deployment's first month: its first scheduled run catches up from here
# a year of the daily schedule (20:00 Asia/Shanghai) that holds the last months the sandbox publishes
# (2025-11, 2025-12), the last re-issues and revisions (all before 2026-06-01), and half a year of quiet
START = pendulum.datetime(2025, 12, 1, 20, tz=TZ)
END = pendulum.datetime(2026, 12, 1, 20, tz=TZ)


def rows(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


class AlertReceiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        AlertReceiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def ticks(start, end):
    tick = start
    while tick <= end:
        yield tick
        tick = tick.add(days=1)


def instants_to_run(events, start, end) -> list:
    """The schedule's daily ticks from start to end at which an agency has published something since
    the previous tick run (and the first and the last). At the other ticks the sandbox answers exactly as at the
    tick before, so the scheduled run there finds nothing new; the calendar's own re-checks of such
    a day (a change feed's settle read, a last check after the re-issue window) happen at the next
    tick run instead."""
    out, previous = [], None
    for tick in ticks(start, end):
        if previous is None or tick == end or any(previous < e["at"] <= tick for e in events):
            out.append(tick)
            previous = tick
    return out


@pytest.fixture(scope="module")
def clocked(stack, sandbox_credentials):
    """A sandbox whose clock the tests move, an alerts webhook, and the shell environment that points
    the pipeline's connections at them."""
    from sandbox import SandboxConfig, start_server

    server = start_server("127.0.0.1", 0, SandboxConfig(credentials=sandbox_credentials, as_of=START.isoformat()))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), AlertReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {
        "AIRFLOW_CONN_IPKPI_ALERTS": json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{receiver.server_port}/hook"}
        )
    }
    env.update(connections_to(server, sandbox_credentials))
    yield server, env
    receiver.shutdown()
    server.stop()


@pytest.fixture(scope="module")
def replay(clocked, settings):
    from tests.mart.harness import fresh_database

    server, base_env = clocked
    dsn = fresh_database(settings, "ipkpi_replay")
    env = {**base_env, "IPKPI_WAREHOUSE_DSN": dsn, "IPKPI_FIRST_MONTH": FIRST_MONTH}
    events = [e for e in server.dataset.publication_events() if e["period"] >= FIRST_MONTH]
    runs = []
    started = time.monotonic()
    for instant in instants_to_run(events, START, END):
        server.set_clock(instant)
        result = ipkpi("run", "--at", instant.isoformat(), env=env)
        assert result.returncode == 0, f"{instant}: {result.stdout}\n{result.stderr}"
        runs.append((instant, "no change" in result.stdout, result.stdout))
    elapsed = time.monotonic() - started
    return {"dsn": dsn, "env": env, "server": server, "events": events, "runs": runs, "elapsed": elapsed}


def test_the_schedule_alone_converges_to_what_a_backfill_publishes(replay, settings):
    """The year replayed ends with exactly the published mart of a full backfill of the same range,
    and with the oracle's final values."""
    from sandbox.oracle import compute
    from tests.mart import harness
    from tests.mart.harness import fresh_database

    dsn, server = replay["dsn"], replay["server"]
    columns = (
        "kpi_code, grain, period, region_code, value, unit, is_complete, months_covered, prev_value, "
        "yoy_growth_pct, target_value, attainment_pct, target_met"
    )
    replayed = rows(dsn, f"SELECT {columns} FROM published.kpi_values ORDER BY 1, 2, 3, 4")
    replayed_breakdown = rows(
        dsn,
        "SELECT kpi_code, grain, period, region_code, dimension, member, value "
        "FROM published.kpi_breakdown ORDER BY 1, 2, 3, 4, 5, 6",
    )
    # the same range backfilled at once, from the agencies as they end up
    backfill = fresh_database(settings, "ipkpi_replay_backfill")
    result = ipkpi(
        "run", "--from", FIRST_MONTH, "--to", "2025-12", env={**replay["env"], "IPKPI_WAREHOUSE_DSN": backfill}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert replayed == rows(backfill, f"SELECT {columns} FROM published.kpi_values ORDER BY 1, 2, 3, 4")
    assert replayed_breakdown == rows(
        backfill,
        "SELECT kpi_code, grain, period, region_code, dimension, member, "
        "value FROM published.kpi_breakdown ORDER BY 1, 2, 3, 4, 5, 6",
    )
    # and the oracle's final state (computed from the sandbox's truth, not from the warehouse)
    oracle = compute(server.dataset)
    published = harness.kpi_values(dsn, schema="published")
    in_range = {k: v for k, v in oracle.values.items() if k[2][:4] == "2025"}  # the year and its months
    assert len(in_range) > 500
    missing = [k for k in in_range if k not in published]
    assert not missing, missing[:10]
    wrong = [(k, published[k], v) for k, v in in_range.items() if not harness.same_value(k[0], published[k], v)]
    assert not wrong, wrong[:10]


def test_late_months_reissues_and_revisions_arrive_without_a_backfill(replay):
    """Every month first published inside the year — late ones included — and every re-issue and
    revision reached `published` at the first tick run after the agency published it."""
    from ingest.calendar import due_at, rhythm_of
    from ingest.registry import connector

    dsn, events, runs = replay["dsn"], replay["events"], replay["runs"]
    in_year = [e for e in events if START < e["at"] <= END]
    first = [e for e in in_year if e["kind"] == "first"]
    later = [e for e in in_year if e["kind"] != "first"]
    assert first and later
    published = {
        (s, p): (a, f)
        for s, p, a, f in rows(
            dsn,
            "SELECT source, period, agency_published_at, first_published_at FROM published.source_months "
            "WHERE is_available",
        )
    }
    run_instants = [instant for instant, _, _ in runs]
    delays, late = [], []
    for event in first:
        key = (event["source"], event["period"])
        assert key in published, key
        agency_at, first_at = published[key]
        next_run = min(i for i in run_instants if i >= event["at"])
        assert first_at == next_run, (key, first_at, next_run)  # the first tick run after it appeared
        assert abs((agency_at - event["at"]).total_seconds()) < 1, (key, agency_at, event["at"])
        delays.append((first_at - event["at"]).total_seconds() / 3600)
        if event["at"] > due_at(event["period"], rhythm_of(connector(event["source"]))):
            late.append(key)
    for event in later:  # the re-issued content is what was loaded after it, never the old one
        next_run = min(i for i in run_instants if i >= event["at"])
        loads = rows(
            dsn,
            "SELECT count(*), max(loaded_at) FROM raw.loads WHERE source = %s AND period = %s",
            (event["source"], event["period"]),
        )
        assert loads[0][0] >= 2, event
        checked = rows(
            dsn,
            "SELECT last_checked_at FROM raw.source_months WHERE source = %s AND period = %s",
            (event["source"], event["period"]),
        )[0][0]
        assert checked >= next_run
    print(
        f"\nreplay: {len(runs)} tick runs from {START} to {END} in {replay['elapsed']:.0f} s "
        f"({sum(1 for _, no_change, _ in runs if no_change)} said no change); "
        f"{len(first)} months first published in the year, {len(late)} of them late ({sorted(late)}); "
        f"{len(later)} re-issues/revisions ({sorted((e['source'], e['period'], e['kind']) for e in later)}); "
        f"delay agency → published: median {statistics.median(delays):.1f} h, max {max(delays):.1f} h"
    )


def test_a_run_with_nothing_new_publishes_nothing(replay):
    """After the last re-issue the agencies are quiet: those runs say "no change", build nothing and
    add no row to the publication log."""
    dsn, runs = replay["dsn"], replay["runs"]
    last_event = max(e["at"] for e in replay["events"])
    picked_up = min(instant for instant, _, _ in runs if instant >= last_event)
    quiet = [(instant, no_change) for instant, no_change, _ in runs if instant > picked_up]
    assert quiet and all(no_change for _, no_change in quiet), quiet
    before = rows(dsn, "SELECT count(*) FROM audit.publication_log")
    instant = END.add(days=1)
    replay["server"].set_clock(instant)
    result = ipkpi("run", "--at", instant.isoformat(), env=replay["env"])
    runs.append((instant, "no change" in result.stdout, result.stdout))  # the schedule's next day
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no change" in result.stdout and "nothing published" in result.stdout
    assert rows(dsn, "SELECT count(*) FROM audit.publication_log") == before


def test_an_overdue_month_alerts_once(replay):
    """A month past its agency's usual lag alerts once (log and webhook), at the first run that finds
    it still missing; the run itself succeeds."""
    from ingest.calendar import due_at, ended_months, rhythm_of
    from ingest.registry import SOURCES, connector

    events, runs = replay["events"], [instant for instant, _, _ in replay["runs"]]
    published_at = {(e["source"], e["period"]): e["at"] for e in events if e["kind"] == "first"}
    expected = set()  # (source, month) late at some tick run: past its due instant, not out yet
    for source in SOURCES:
        rhythm = rhythm_of(connector(source))
        for instant in runs:
            for period in ended_months(FIRST_MONTH, instant):
                appeared = published_at.get((source, period))
                if due_at(period, rhythm) < instant and (appeared is None or instant < appeared):
                    expected.add((source, period))
    alerts = [(a["source"], m) for a in AlertReceiver.received if a.get("kind") == "overdue" for m in a["months"]]
    assert len(alerts) == len(set(alerts)), "one alert per source and month"
    assert set(alerts) == expected
    assert any(period <= "2025-12" for _, period in expected), "a month the agency published late alerted"
    logged = rows(replay["dsn"], "SELECT source, period FROM raw.lateness_alerts")
    assert set(logged) == expected
    # `ipkpi status` marks them: at the replay's last instant, every month still missing is overdue
    status = ipkpi("status", "--at", runs[-1].isoformat(), env=replay["env"])
    assert status.returncode == 0, status.stderr
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("police "))
    year_2025, year_2026 = line.split()[-2:]
    assert year_2025 == "P" * 12 and year_2026.startswith("!" * 10), line  # 2026-01…10: past police's 14 days


def test_the_scheduler_s_own_run_asks_what_at_replays(replay, settings):
    """A run the scheduler creates itself (run type scheduled) covers the same interval and asks each
    feed for the same months as `ipkpi run --at` for the same instant."""
    from ingest.registry import SOURCES
    from ipkpi.pipeline.schedule import interval_at
    from ipkpi.platform.airflow_client import AirflowClient

    env, server = replay["env"], replay["server"]
    start, end = interval_at(pendulum.now("UTC"))  # the run the scheduler makes as soon as it may
    server.set_clock(end)
    for _ in range(2):  # the second finds the state the first left: what the scheduler will find too
        result = ipkpi("run", "--at", end.isoformat(), env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    replayed_run = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("triggered "))
    client = AirflowClient(settings)
    # only the pipeline's schedule is under test: the white paper's monthly run would be created too
    client._call("PATCH", "/dags/ipkpi_whitepaper", json={"is_paused": True})
    scheduled = ipkpi("setup", env={**env, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True"})
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = client._call("GET", "/dags/ipkpi_pipeline/dagRuns", params={"run_type": "scheduled"}).json()
            done = [r for r in runs["dag_runs"] if r["state"] in ("success", "failed")]
            if done:
                break
            time.sleep(3)
        assert done, runs
        run = done[0]
        assert run["state"] == "success"
        assert pendulum.parse(run["data_interval_start"]) == start and pendulum.parse(run["data_interval_end"]) == end
        for source in SOURCES:
            ours = client.xcom(run["dag_run_id"], f"ingest_{source}")
            theirs = client.xcom(replayed_run, f"ingest_{source}")
            assert ours["instant"] == theirs["instant"] and ours["months"] == theirs["months"], source
    finally:
        from ipkpi.platform.services import active_runs

        deadline = time.monotonic() + 300
        while active_runs(settings) and time.monotonic() < deadline:  # set-up never restarts under a run
            time.sleep(3)
        off = ipkpi("setup", env=env)  # the scheduler back to creating nothing by itself
        assert off.returncode == 0, off.stdout + off.stderr
        client._call("PATCH", "/dags/ipkpi_whitepaper", json={"is_paused": False})


def test_a_revision_published_eleven_months_late_reaches_published(clocked, settings):
    """A statistics period revised 11–12 months after it first came out: the scheduled run of that
    evening still re-checks the period, loads revision 2 and publishes it."""
    from tests.mart.harness import fresh_database

    server, base_env = clocked
    events = server.dataset.publication_events()
    firsts = {e["period"]: e["at"] for e in events if e["source"] == "amr_statistics" and e["kind"] == "first"}
    late = [
        (e["period"], e["at"])
        for e in events
        if e["source"] == "amr_statistics"
        and e["kind"] == "revision"
        and e["at"] >= pendulum.instance(firsts[e["period"]]).add(months=11)
    ]
    assert late, "the sandbox revises a period 11 months after its first publication"
    period, revised_at = late[0]
    dsn = fresh_database(settings, "ipkpi_revision")
    env = {**base_env, "IPKPI_WAREHOUSE_DSN": dsn, "IPKPI_FIRST_MONTH": period}
    revision = (
        "SELECT DISTINCT s.revision FROM raw.amr_statistics s JOIN published.source_months m "
        "ON m.load_id = s.load_id WHERE m.source = 'amr_statistics' AND m.period = %s"
    )
    first_evening = pendulum.instance(firsts[period]).in_timezone(TZ).set(hour=20, minute=0, second=0)
    revision_evening = pendulum.instance(revised_at).in_timezone(TZ).set(hour=20, minute=0, second=0)
    for evening, expected in ((first_evening, 1), (revision_evening, 2)):
        server.set_clock(evening)
        result = ipkpi("run", "--at", evening.isoformat(), env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert rows(dsn, revision, (period,)) == [(expected,)], evening
