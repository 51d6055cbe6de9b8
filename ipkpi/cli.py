"""`ipkpi` — the project's command line.

ipkpi setup                       start (and on first use, create) everything; run nothing
ipkpi init                        initialise the warehouse only (an existing IPKPI_WAREHOUSE_DSN)
ipkpi run --from 2018-01 --to 2025-12
                                  run/backfill the pipeline for a range through Airflow
ipkpi run --at 2025-08-01T20:00+08:00
                                  replay what the deployed schedule does at that instant
ipkpi status                      per source and month: published / loaded / not published / missing
ipkpi dsn [--role bi_reader]      the warehouse DSN (the read-only one for BI tools)
ipkpi sandbox [--port N]          serve the agencies' sandbox feeds in the foreground
ipkpi stop                        stop every service the project started
ipkpi prune [--days N]            remove logs, validation results, Data Docs older than N days
ipkpi airflow ARGS…               the airflow CLI with the project's environment
ipkpi dbt ARGS…                   dbt on the project, against the warehouse
ipkpi ingest [--from --to --source S]   ingest directly, without Airflow (development)
ipkpi whitepaper --year YYYY [--out DIR]
                                  the year's white paper (HTML + PDF) from `published`, into
                                  DIR/YYYY/ (default $IPKPI_WHITEPAPER_DIR, else whitepaper/ at the repo root)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ipkpi.platform.config import DEFAULT_FIRST_MONTH, DEFAULT_LAST_MONTH, Settings, redact_dsn

MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")  # ASCII digits only: \d would take ２０２０


def month_arg(value: str) -> str:
    """A month YYYY-MM from 2018-01 (the agencies' first) to the current month (Asia/Shanghai)."""
    import pendulum

    from ipkpi.platform.config import TIMEZONE

    if not MONTH.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a month YYYY-MM")
    current = pendulum.now(TIMEZONE).format("YYYY-MM")
    if not DEFAULT_FIRST_MONTH <= value <= current:
        raise argparse.ArgumentTypeError(f"{value} is outside {DEFAULT_FIRST_MONTH} … {current} (the current month)")
    return value


def new_run_id(*parts: str) -> str:
    """ipkpi__<parts>__<UTC time>__<random>: unique even for identical runs started in the same second."""
    import secrets

    return "__".join(("ipkpi", *parts, time.strftime("%Y%m%dT%H%M%S", time.gmtime()), secrets.token_hex(3)))


def instant_arg(value: str) -> datetime:
    """An ISO-8601 instant; without an offset it is read in Asia/Shanghai."""
    import pendulum

    from ipkpi.platform.config import TIMEZONE

    try:
        return pendulum.parse(value, tz=TIMEZONE, strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO-8601 instant (e.g. 2025-08-01T20:00+08:00)")


def uses_sandbox() -> bool:
    from ipkpi.platform.services import SOURCE_CONN_IDS

    return any(not os.environ.get(f"AIRFLOW_CONN_{c.upper()}") for c in SOURCE_CONN_IDS)


def cmd_setup(settings: Settings, start_airflow: bool = True) -> None:
    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services

    with services.setup_lock(settings):
        services.ensure_postgres(settings)
        init_warehouse(settings.warehouse_dsn, settings)
        if uses_sandbox():
            services.ensure_sandbox(settings)
        services.ensure_airflow_db(settings)
        if start_airflow:
            services.ensure_airflow(settings)
    services.log(f"ready — warehouse {redact_dsn(settings.warehouse_dsn)}; Airflow UI {settings.airflow_url}")


def cmd_run(settings: Settings, first: str | None, last: str | None, at: datetime | None = None) -> int:
    """An explicit range (``--from/--to``), or a replay of the schedule at an instant (``--at``)."""
    from ipkpi.pipeline.publish import PUBLISHED
    from ipkpi.pipeline.schedule import EXPLICIT, interval_at
    from ipkpi.pipeline.steps import month_bounds
    from ipkpi.platform.airflow_client import AirflowClient

    if at is not None:
        start, end = interval_at(at)
        conf, run_after, what = {}, end, f"the schedule at {end.isoformat()}"
        run_id = new_run_id("at", end.strftime("%Y%m%dT%H%M"))
    else:
        start, end = month_bounds(first, last)
        conf, run_after, what = {"range": EXPLICIT}, None, f"{first} … {last}"
        run_id = new_run_id(first, last)
    cmd_setup(settings)
    client = AirflowClient(settings)
    client.wait_for_dag()
    client.trigger(run_id, start, end, conf=conf, run_after=run_after)
    print(f"triggered {run_id} (data interval {start.isoformat()} … {end.isoformat()})", flush=True)
    try:
        state = follow(client, run_id)
    except FollowTimeout as exc:
        print(f"\nSTILL RUNNING: {exc}", file=sys.stderr)
        return 3
    publication_id = client.xcom(run_id, "begin")
    if state == "success" and publication_id is None:
        current = current_publication_id(settings)
        print(
            f"no change: nothing new from the agencies for {what}; nothing published "
            f"(publication {current or '—'} stays current)"
        )
        return 0
    if state == "success":
        print(f"published {what} as {publication_id} (schema {PUBLISHED})")
        superseded = superseded_rollback(settings, publication_id)
        if superseded:
            print(f"it supersedes the rollback {superseded}: the agencies' current data are published again")
        print_headlines(settings)
        return 0
    print(f"\nFAILED: run {run_id} ended {state}", file=sys.stderr)
    for line in explain_failure(settings, client, run_id, publication_id):
        print(f"  {line}", file=sys.stderr)
    return 1


def superseded_rollback(settings: Settings, publication_id: str) -> str | None:
    from ipkpi.pipeline.publish import attempt

    row = attempt(settings.warehouse_dsn, publication_id)
    return (row[1] or {}).get("supersedes_rollback") if row else None


def current_publication_id(settings: Settings) -> str | None:
    from ipkpi import mart

    with mart.connect(settings.warehouse_dsn) as conn:
        current = mart.current_publication(conn)
    return current.publication_id if current else None


class FollowTimeout(RuntimeError):
    pass


def follow(client, run_id: str, poll: float = 0.5, deadline_s: float | None = None) -> str:
    """Print task state changes until the run ends; return the run's final state.

    Airflow may restart meanwhile (another shell's set-up, a crash): connection errors are waited
    out and the run followed again, so what is reported is the run's real end. After
    ``deadline_s`` (``IPKPI_RUN_DEADLINE_MIN``, default 360) it stops following: FollowTimeout."""
    import requests

    deadline_s = deadline_s if deadline_s is not None else 60 * float(os.environ.get("IPKPI_RUN_DEADLINE_MIN") or 360)
    seen: dict[str, str] = {}
    started = time.monotonic()
    lost_since = None
    while True:
        if time.monotonic() - started > deadline_s:
            raise FollowTimeout(
                f"run {run_id} has not ended after {deadline_s / 60:.0f} min; it goes on in "
                f"Airflow (ipkpi status, the Airflow UI)"
            )
        try:
            for ti in client.task_instances(run_id):
                state = ti.get("state") or "none"
                if seen.get(ti["task_id"]) != state:
                    seen[ti["task_id"]] = state
                    if state not in ("none", "scheduled", "queued"):
                        print(f"  [{time.monotonic() - started:6.1f}s] {ti['task_id']:<20} {state}", flush=True)
            run_state = client.run(run_id)["state"]
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status == 401:
                client.login()  # a restarted api-server: sign in again
            elif status is not None and status < 500:
                raise
            if lost_since is None:
                lost_since = time.monotonic()
                print(f"  Airflow does not answer ({type(exc).__name__}); still following {run_id}", flush=True)
            time.sleep(min(5.0, 0.5 + (time.monotonic() - lost_since) / 10))
            continue
        if lost_since is not None:
            print(f"  Airflow answers again after {time.monotonic() - lost_since:.0f} s", flush=True)
            lost_since = None
        if run_state in ("success", "failed"):
            return run_state
        time.sleep(poll)


def explain_failure(settings: Settings, client, run_id: str, publication_id: str | None) -> list[str]:
    """The failing source, period and check, from the task errors and the publication log."""
    lines = []
    for ti in client.task_instances(run_id):
        if ti.get("state") not in ("failed", "upstream_failed"):
            continue
        if ti["state"] == "upstream_failed":
            lines.append(f"{ti['task_id']}: not run (an upstream step failed)")
            continue
        text = client.task_log(run_id, ti["task_id"], max(int(ti.get("try_number") or 1), 1))
        errors = [
            ln for ln in text.splitlines() if re.search(r"(Error|Blocked|Exception)\b.*:", ln) and "Traceback" not in ln
        ]
        lines.append(f"{ti['task_id']}: " + (errors[-1].strip() if errors else "failed (see the Airflow UI)"))
    if publication_id:
        from ipkpi.pipeline.publish import attempt

        row = attempt(settings.warehouse_dsn, publication_id)
        if row and row[0] == "blocked":
            from ipkpi.pipeline.gate import CheckResult

            lines.append(f"publication {publication_id} blocked: nothing changed in `published`. Blocking checks:")
            lines += [
                CheckResult(**check).describe()
                for check in row[1].get("gate", {}).get("failed", [])
                if check["severity"] == "error"
            ]
    return lines


HEADLINE_KPIS = (
    "invention_patents_in_force",
    "high_value_patents_per_10k",
    "patent_grants_total",
    "trademarks_in_force",
    "copyright_registrations",
    "court_cases_received",
    "amr_cases_closed",
    "police_cases_filed",
    "customs_seizure_batches",
    "ip_pledge_amount",
)


def print_headlines(settings: Settings) -> None:
    """A short table: the latest complete year's headline KPIs, 同比, and the target where one applies."""
    from ipkpi import mart

    with mart.connect(settings.warehouse_dsn) as conn:
        published = mart.Mart(conn)
        year = published.latest_complete_year()
        values = (
            published.kpi_values("year", period=year, region_code=mart.CITY, kpi_codes=HEADLINE_KPIS) if year else []
        )
        catalogue = published.kpi_catalogue()
        pub = published.publication
    if values:
        print(f"\nHeadline KPIs, Ningbo (330200), {year}:")
        for k in sorted(values, key=lambda k: HEADLINE_KPIS.index(k.kpi_code)):
            name, code, value, unit = catalogue[k.kpi_code]["name_zh"], k.kpi_code, k.value, k.unit
            growth, target, met = k.yoy_growth_pct, k.target_value, k.target_met
            shown = (
                f"{value / 100_000_000:,.2f} 亿元"
                if unit == "元"
                else (f"{value:,.0f} {unit}" if value == value.to_integral_value() else f"{value:,.2f} {unit}")
            )
            goal = "" if target is None else f"  目标 {target:,.0f} {'✓ 完成' if met else '✗ 未完成'}"
            growth_text = f"{growth:+.1f}%" if growth is not None else "—"
            print(f"  {code:<30} {name:<14} {shown:>16}  同比 {growth_text:>7}{goal}")
    print(f"\npublication   {pub.publication_id if pub else '—'}")
    print(f"warehouse     {redact_dsn(settings.warehouse_dsn)}   (full: ipkpi dsn; BI: ipkpi dsn --role bi_reader)")
    print(f"Airflow UI    {settings.airflow_url}   (user ipkpi, password in {settings.airflow_home}/passwords.json)")
    print(
        f"all KPIs      published.kpi_values ({len(catalogue)} KPIs × year/month × city/districts);"
        " status: ipkpi status"
    )


def cmd_status(settings: Settings, at: datetime | None = None) -> None:
    import pendulum
    import psycopg

    from ingest.calendar import due_at, ended_months, rhythm_of
    from ingest.registry import SOURCES, connector
    from ingest.store import held_months
    from ipkpi import mart
    from ipkpi.platform.config import first_month

    at = at or pendulum.now("UTC")
    with psycopg.connect(settings.warehouse_dsn) as conn:
        held = held_months(conn)
        current = mart.Mart(conn)
        published = (
            {(m.source, m.period) for m in current.source_months() if m.is_available}
            if current.holds("source_months")
            else set()
        )
    if not held:
        print("nothing loaded yet: ipkpi run --from YYYY-MM --to YYYY-MM")
        return
    expected = set(ended_months(first_month(), at))
    last_year = max([p[:4] for _, p in held] + [p[:4] for p in expected])
    years = [str(y) for y in range(int(min(p[:4] for _, p in held)), int(last_year) + 1)]
    print(
        "P published · L loaded, not yet published · ! overdue: past the agency's usual lag and still not "
        "published · - not published yet · . never fetched"
    )
    print(f"{'source':<16}" + " ".join(f"{y:<12}" for y in years))
    for source in SOURCES:
        rhythm = rhythm_of(connector(source))
        cells = []
        for year in years:
            marks = ""
            for month in range(1, 13):
                period = f"{year}-{month:02d}"
                key = (source, period)
                if key in published:
                    marks += "P"
                elif held.get(key) == "available":
                    marks += "L"
                elif period in expected and due_at(period, rhythm) < at:
                    marks += "!"
                elif held.get(key) == "not_published":
                    marks += "-"
                else:
                    marks += "."
            cells.append(marks)
        print(f"{source:<16}" + " ".join(cells))


def cmd_ingest(settings: Settings, first: str, last: str, sources: list[str] | None) -> int:
    """Ingest straight into the warehouse, no Airflow: connections from the shell, else the sandbox."""
    from ingest.http import Endpoint
    from ingest.registry import SOURCES
    from ipkpi.pipeline.steps import ingest, month_bounds, months_in_interval
    from ipkpi.pipeline.warehouse import init_warehouse
    from ipkpi.platform import services

    services.ensure_postgres(settings)
    init_warehouse(settings.warehouse_dsn, settings)
    if uses_sandbox():
        services.ensure_sandbox(settings)
    os.environ.update(services.default_connections(settings))
    months = months_in_interval(*month_bounds(first, last))
    for source in sources or list(SOURCES):
        started = time.monotonic()
        result = ingest(source, months, f"cli-{time.strftime('%Y%m%dT%H%M%S')}", Endpoint.from_env(SOURCES[source]))
        print(f"{result['summary']} in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def cmd_dsn(settings: Settings, role: str | None) -> None:
    if role in (None, "owner"):
        print(settings.warehouse_dsn)
    elif role == "bi_reader":
        from ipkpi.pipeline.warehouse import bi_reader_dsn

        print(bi_reader_dsn(settings))
    else:
        raise SystemExit(f"unknown role {role!r}: owner or bi_reader")


def cmd_sandbox(settings: Settings, port: int | None, extra: list[str]) -> None:
    from ipkpi.platform.services import sandbox_argv

    os.execv(sys.executable, sandbox_argv(settings, port, extra))


def cmd_whitepaper(year: int, out: Path | None, publication_id: str | None = None) -> int:
    from ipkpi.mart import PublicationNotHeld
    from ipkpi.whitepaper import IncompleteYear, generate

    try:
        result = generate(year, out, publication_id=publication_id, record=True)
    except (IncompleteYear, PublicationNotHeld) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"white paper {year} (publication {result['publication_id']}, {result['figures']} figures) "
        f"in {result['timings']['total']:.1f} s:\n  {result['html']}\n  {result['pdf']}"
    )
    return 0


def cmd_publications(settings: Settings) -> None:
    """Every publication attempt, newest first: the vintages, and the attempts that were blocked or
    failed (no vintage)."""
    import psycopg

    from ipkpi.pipeline.vintages import publications

    with psycopg.connect(settings.warehouse_dsn) as conn:
        rows = publications(conn)
    print(f"{'publication':34} {'time (UTC)':19} {'status':21} {'#':>4} {'cells':>6}  periods")
    for row in rows:
        status = row["status"]
        if row["vintage_no"] is not None:
            status = "current" if row["is_current"] else "superseded"
            if row["kind"] == "rollback":
                status += " (rollback)"
        at = row["at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if row["at"] else "—"
        cells = "" if row["cells_changed"] is None else str(row["cells_changed"])
        number = "" if row["vintage_no"] is None else str(row["vintage_no"])
        extra = f"  → {row['rollback_of']}" if row["rollback_of"] else ""
        print(f"{row['publication_id']:34} {at:19} {status:21} {number:>4} {cells:>6}  {row['periods'] or ''}{extra}")


def cmd_diff(settings: Settings, first: str, second: str, as_csv: bool) -> int:
    """The cells that differ between two vintages, grouped by KPI and reason (or CSV)."""
    import csv
    from itertools import groupby

    import psycopg

    from ipkpi import mart
    from ipkpi.pipeline.vintages import diff, find

    with psycopg.connect(settings.warehouse_dsn) as conn:
        try:
            a, b = find(conn, first), find(conn, second)
        except LookupError as exc:
            print(f"ipkpi diff: {exc}", file=sys.stderr)
            return 2
        changes = diff(conn, first, second)
        published = mart.Mart(conn)
        names = {code: f"{kpi['name_zh']} ({kpi['unit']})" for code, kpi in published.kpi_catalogue().items()}
        regions = published.region_names()
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(
            [
                "relation",
                "kpi_code",
                "grain",
                "period",
                "region_code",
                "dimension",
                "member",
                "old_value",
                "new_value",
                "reason",
                "reason_detail",
                "source",
                "source_period",
                "payload_sha256",
            ]
        )
        for c in changes:
            writer.writerow(
                [
                    c.relation,
                    c.kpi_code,
                    c.grain,
                    c.period,
                    c.region_code,
                    c.dimension,
                    c.member,
                    c.old_value,
                    c.new_value,
                    c.reason,
                    c.reason_detail,
                    c.source,
                    c.source_period,
                    c.payload_sha256,
                ]
            )
        return 0
    new = sum(c.reason == "first_published" for c in changes)
    print(
        f"{first} (vintage {a.vintage_no}) → {second} (vintage {b.vintage_no}): {len(changes) - new} cells changed, "
        f"{new} first published"
    )
    for (kpi, relation), cells in groupby(
        sorted(changes, key=lambda c: (c.kpi_code, c.relation, c.reason, c.reason_detail)),
        key=lambda c: (c.kpi_code, c.relation),
    ):
        cells = list(cells)
        where = "" if relation == "kpi_values" else " — breakdown"
        print(f"\n{kpi} {names.get(kpi, '')}{where}: {len(cells)} cells")
        for (reason, detail, sha), group in groupby(cells, key=lambda c: (c.reason, c.reason_detail, c.payload_sha256)):
            group = list(group)
            if reason == "first_published":  # releases, not revisions: counted, not listed
                periods = sorted({c.period for c in group})
                print(f"  first published ({detail}): {len(group)} cells, {periods[0]} … {periods[-1]}")
                continue
            print(f"  {reason}: {detail}" + (f" (payload {sha[:12]}…)" if sha else ""))
            for c in group:
                member = f" {c.dimension}={c.member}" if c.dimension else ""
                print(
                    f"    {c.period:8} {c.grain:5} {c.region_code} {regions.get(c.region_code, ''):6}{member}  "
                    f"{number(c.old_value)} → {number(c.new_value)}{delta(c.old_value, c.new_value)}"
                )
    return 0


def number(value) -> str:
    """A published value as a person reads it: thousands separated, at most 4 decimals."""
    if value is None:
        return "—"
    if value.as_tuple().exponent < -4:
        value = round(value, 4)
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def delta(old, new) -> str:
    if old is None or new is None:
        return ""
    change = new - old
    return f"  ({'+' if change > 0 else ''}{number(change)})"


def cmd_rollback(settings: Settings, publication_id: str) -> int:
    from ipkpi.pipeline.vintages import RollbackRefused, rollback

    try:
        new, changed = rollback(settings.runtime_dsn, publication_id)
    except (RollbackRefused, LookupError) as exc:
        print(f"ipkpi rollback: {exc}", file=sys.stderr)
        return 1
    print(
        f"rolled back to {publication_id}: published as {new} ({changed} cells changed); "
        "the next run publishes from the agencies' data again"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done (published, or no change), 1 the run failed or was blocked, 2 a usage
    error, 3 the run still runs after the follow deadline, 4 busy (set-up would restart Airflow
    under an active run)."""
    from ipkpi.platform.services import Busy

    try:
        return dispatch(argv)
    except Busy as exc:
        print(f"ipkpi: {exc}", file=sys.stderr)
        return 4


def dispatch(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ipkpi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create/start the services; run nothing")
    sub.add_parser("init", help="initialise the warehouse only (schemas, roles, grants, raw tables)")
    run = sub.add_parser("run", help="backfill a range of months, or replay the schedule at an instant")
    run.add_argument("--from", dest="first", type=month_arg)
    run.add_argument("--to", dest="last", type=month_arg)
    run.add_argument(
        "--at",
        type=instant_arg,
        help="replay what the deployed schedule does at this instant "
        "(ISO-8601, e.g. 2025-08-01T20:00+08:00): the same data interval and months re-checked",
    )
    status = sub.add_parser("status", help="per source and month: published / loaded / overdue / missing")
    status.add_argument("--at", type=instant_arg, help="judge lateness at this instant (default: now)")
    dsn = sub.add_parser("dsn", help="print the warehouse DSN")
    dsn.add_argument("--role", choices=["owner", "bi_reader"])
    sandbox = sub.add_parser("sandbox", help="serve the agency sandbox in the foreground")
    sandbox.add_argument("--port", type=int)
    sub.add_parser("stop", help="stop every service the project started")
    prune = sub.add_parser(
        "prune",
        help="remove task logs, validation results and Data Docs pages older than "
        "IPKPI_RETAIN_LOG_DAYS (default 90), repeated fetch-log rows "
        "older than IPKPI_RETAIN_REPEAT_FETCH_DAYS and vintages older than "
        "IPKPI_RETAIN_VINTAGE_YEARS (default: keep both); never payloads",
    )
    prune.add_argument("--days", type=int, help="override IPKPI_RETAIN_LOG_DAYS")
    sub.add_parser("headlines", help="print the headline KPIs of the current publication")
    sub.add_parser("airflow", help="run the `airflow` CLI with the project's environment (e.g. backfill create)")
    sub.add_parser("dbt", help="run `dbt` on the project against the warehouse (e.g. ipkpi dbt build -s marts)")
    ingest = sub.add_parser(
        "ingest", help="ingest sources for a range directly, without Airflow (development, benchmarks)"
    )
    ingest.add_argument("--from", dest="first", type=month_arg, default=DEFAULT_FIRST_MONTH)
    ingest.add_argument("--to", dest="last", type=month_arg, default=DEFAULT_LAST_MONTH)
    ingest.add_argument("--source", action="append", help="a source name (repeatable); default: all")
    whitepaper = sub.add_parser("whitepaper", help="the year's white paper (HTML + PDF), read from `published` only")
    whitepaper.add_argument("--year", type=int, required=True)
    whitepaper.add_argument(
        "--publication",
        metavar="PUB",
        help="regenerate it exactly as issued from this "
        "vintage (ipkpi publications lists them); default: the current publication",
    )
    whitepaper.add_argument(
        "--out", type=Path, help="output root (default $IPKPI_WHITEPAPER_DIR, else <repo>/whitepaper)"
    )
    sub.add_parser("publications", help="every publication (vintages, and blocked or failed attempts), newest first")
    diff = sub.add_parser("diff", help="the cells that changed between two publications, grouped by KPI and reason")
    diff.add_argument("first", metavar="PUB_A")
    diff.add_argument("second", metavar="PUB_B")
    diff.add_argument("--csv", action="store_true", help="one CSV row per cell, for machines")
    rollback = sub.add_parser(
        "rollback",
        help="make an earlier publication current again (a new publication, "
        "reason rollback); the next run moves forward",
    )
    rollback.add_argument("publication", metavar="PUB")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("sandbox", "airflow", "dbt"):  # only these pass arguments on
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    settings = Settings.from_env()

    if args.command == "setup":
        cmd_setup(settings)
    elif args.command == "init":
        from ipkpi.pipeline.warehouse import init_warehouse

        init_warehouse(settings.warehouse_dsn, settings)
        print(f"initialised {redact_dsn(settings.warehouse_dsn)}")
    elif args.command == "run":
        if args.at is not None and (args.first or args.last):
            parser.error("--at replays the schedule at an instant; --from/--to backfill a range: not both")
        if args.at is None:
            args.first, args.last = args.first or DEFAULT_FIRST_MONTH, args.last or DEFAULT_LAST_MONTH
            if args.last < args.first:
                parser.error(f"--to {args.last} is before --from {args.first}")
        return cmd_run(settings, args.first, args.last, args.at)
    elif args.command == "status":
        cmd_status(settings, args.at)
    elif args.command == "dsn":
        cmd_dsn(settings, args.role)
    elif args.command == "sandbox":
        cmd_sandbox(settings, args.port, extra)
    elif args.command == "stop":
        from ipkpi.platform.services import stop_all

        stopped = stop_all(settings)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    elif args.command == "prune":
        from ipkpi.pipeline.retention import prune as prune_files
        from ipkpi.pipeline.retention import prune_repeat_fetches, prune_vintages

        pruned = prune_files(settings, args.days)
        fetches = prune_repeat_fetches(settings.warehouse_dsn)
        vintages, history_rows = prune_vintages(settings.warehouse_dsn)
        print(
            f"pruned {pruned.files} files ({pruned.bytes / 1e6:.1f} MB), {fetches} repeated fetch-log rows, "
            f"{vintages} vintages ({history_rows} history rows)"
        )
    elif args.command == "publications":
        cmd_publications(settings)
    elif args.command == "diff":
        return cmd_diff(settings, args.first, args.second, args.csv)
    elif args.command == "rollback":
        return cmd_rollback(settings, args.publication)
    elif args.command == "headlines":
        print_headlines(settings)
    elif args.command == "dbt":
        from ipkpi.pipeline.transform import DBT_PROJECT, dbt_env

        dbt = str(Path(sys.executable).with_name("dbt"))
        os.chdir(DBT_PROJECT)
        os.execve(
            dbt,
            [dbt, *extra, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)],
            dbt_env(settings.warehouse_dsn, settings.home),
        )
    elif args.command == "whitepaper":
        return cmd_whitepaper(args.year, args.out, args.publication)
    elif args.command == "ingest":
        return cmd_ingest(settings, args.first, args.last, args.source)
    elif args.command == "airflow":
        from ipkpi.platform.services import airflow_bin, airflow_env

        os.execve(airflow_bin(), [airflow_bin(), *extra], airflow_env(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
