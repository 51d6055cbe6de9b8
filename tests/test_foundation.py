"""Issue 3: layout, pinned dependencies, a thin DAG that parses fast, month arithmetic."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pendulum
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_layout_as_designed():
    for path in (
        "dags",
        "dbt_project",
        "expectations",
        "ingest",
        "tests",
        "docker-compose.yml",
        "README.md",
        "Makefile",
        "requirements.lock",
        ".ci/run",
    ):
        assert (ROOT / path).exists(), path


def test_dependencies_fully_pinned():
    lines = [
        ln.strip()
        for ln in (ROOT / "requirements.lock").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert len(lines) > 100
    unpinned = [ln for ln in lines if not re.match(r"^[A-Za-z0-9_.\-\[\]]+==[^=\s]+$", ln)]
    assert unpinned == []
    names = {ln.split("==")[0].lower().replace("_", "-") for ln in lines}
    assert {"apache-airflow", "dbt-core", "dbt-postgres", "great-expectations", "psycopg", "requests"} <= names


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(make \w+)\s*$", quick, flags=re.M)
    assert commands == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


DAG_PROBE = """
import json, runpy, socket, sys, time
import airflow.sdk  # the dag-processor has Airflow loaded already: time the DAG file alone

def no_network(*args, **kwargs):
    raise RuntimeError(f"network or database touched at import: {args!r}")

socket.socket.connect = socket.socket.connect_ex = no_network
before = set(sys.modules)
started = time.perf_counter()
runpy.run_path(sys.argv[1])
seconds = time.perf_counter() - started
# the connectors' declarations (ingest.registry, ingest.sources) are read at parse time; their
# libraries and our modules that use them are not
heavy = ("psycopg", "great_expectations", "dbt", "openpyxl", "python_calamine", "pyarrow", "numpy", "orjson",
         "matplotlib", "weasyprint", "requests", "urllib3", "ingest.runner", "ingest.store", "ingest.http",
         "ingest.api", "ingest.files", "ingest.columnar", "ipkpi.pipeline.steps", "ipkpi.pipeline.gate",
         "ipkpi.pipeline.publish", "ipkpi.pipeline.transform", "ipkpi.whitepaper", "ipkpi.mart")
print(json.dumps({"seconds": seconds,
                  "heavy": sorted(m for m in set(sys.modules) - before if m.startswith(heavy))}))
"""


# Rooms (ipkpi/platform, ingest + ipkpi/pipeline, ipkpi/mart, ipkpi/whitepaper, ipkpi/cli): each may
# import the rooms before it, never one after it, so the architecture reads from the tree.
ROOMS = [
    ("ingest", ["ingest"]),  # declarations the platform wires (registry, calendar) sit here too
    ("platform", ["ipkpi/platform"]),
    ("pipeline", ["ipkpi/pipeline"]),
    ("mart", ["ipkpi/mart.py"]),
    ("whitepaper", ["ipkpi/whitepaper"]),
    ("cli", ["ipkpi/cli.py", "dags"]),
]
ROOM_PREFIXES = {
    "ingest": ("ingest",),
    "platform": ("ipkpi.platform",),
    "pipeline": ("ipkpi.pipeline",),
    "mart": ("ipkpi.mart",),
    "whitepaper": ("ipkpi.whitepaper",),
    "cli": ("ipkpi.cli",),
}


def imported_modules(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_rooms_import_only_the_rooms_before_them():
    order = [room for room, _ in ROOMS]
    crossings = []
    for position, (room, places) in enumerate(ROOMS):
        later = tuple(p for r in order[position + 1 :] for p in ROOM_PREFIXES[r])
        files = [
            f for place in places for f in ([ROOT / place] if place.endswith(".py") else (ROOT / place).rglob("*.py"))
        ]
        assert files, places
        for path in files:
            # ingest's own modules are "ingest.x"; only ipkpi rooms after this one are out of bounds
            crossings += [
                f"{path.relative_to(ROOT)} imports {m}"
                for m in imported_modules(path)
                if m.startswith(later) and m != "ingest_months"
            ]
    assert crossings == []


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (ROOT / "dags").glob("*.py")))
def test_dag_file_imports_fast_without_network_database_or_heavy_modules(dag_file):
    """DAG integrity: every DAG file imports cleanly in under a second (Airflow re-parses it all the time),
    opens no socket (network or database) and imports neither the drivers, dbt, GX, the HTTP, JSON,
    Arrow, workbook, chart and PDF libraries nor our own ingestion and pipeline modules: those are
    imported inside the tasks. The connectors' declarations (the registry) it does read."""
    out = subprocess.run(
        [sys.executable, "-c", DAG_PROBE, f"dags/{dag_file}"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["heavy"] == []
    assert probe["seconds"] < 1.0, probe


def test_dag_structure():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dags) == {"ipkpi_pipeline", "ipkpi_whitepaper"}
    dag = bag.dags["ipkpi_pipeline"]
    from ingest.registry import SOURCES

    ingest_tasks = {f"ingest_{s}" for s in SOURCES}
    assert ingest_tasks | {"begin", "transform", "validate", "publish"} == set(dag.task_ids)
    assert dag.max_active_runs == 1
    from ipkpi.platform.config import INGEST_TASK_RETRIES

    assert {dag.get_task(t).retries for t in ingest_tasks} == {INGEST_TASK_RETRIES}  # what the fault tests use
    assert dag.get_task("begin").upstream_task_ids == ingest_tasks
    assert dag.get_task("publish").upstream_task_ids == {"validate"}
    assert dag.get_task("validate").upstream_task_ids == {"transform"}
    # daily intervals ending at 20:00 Asia/Shanghai, as the scheduler computes them — and as
    # `ipkpi run --at` computes them (ipkpi.pipeline.schedule.interval_at), for any instant
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    from ipkpi.pipeline.schedule import interval_at

    timetable = decode_timetable(encode_timetable(dag.timetable))
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2020, 4, 10, 10, tz="Asia/Shanghai"))
    assert interval.start == pendulum.datetime(2020, 4, 8, 20, tz="Asia/Shanghai")
    assert interval.end == pendulum.datetime(2020, 4, 9, 20, tz="Asia/Shanghai")
    for hour, minute in ((10, 0), (19, 59), (20, 0), (20, 1), (23, 59)):
        run_after = pendulum.datetime(2020, 4, 10, hour, minute, tz="Asia/Shanghai")
        interval = timetable.infer_manual_data_interval(run_after=run_after)
        assert (interval.start, interval.end) == interval_at(run_after), run_after


def test_months_in_interval_shanghai():
    from ipkpi.pipeline.steps import month_bounds, months_in_interval

    start, end = month_bounds("2018-01", "2025-12")
    months = months_in_interval(start, end)
    assert len(months) == 96 and months[0] == "2018-01" and months[-1] == "2025-12"
    # a UTC interval that starts at 16:00Z on the last day of February is March 1st in Shanghai
    utc = pendulum.timezone("UTC")
    assert months_in_interval(datetime(2020, 2, 29, 16, tzinfo=utc), datetime(2020, 3, 31, 16, tzinfo=utc)) == [
        "2020-03"
    ]
    with pytest.raises(ValueError):
        month_bounds("2020-05", "2020-04")


def test_secrets_not_in_repo():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not any(p.startswith("var/") or p.endswith("secrets.json") for p in tracked)


def test_compose_file_is_valid():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_agrees_with_the_native_set_up(settings):
    """docker-compose.yml runs the same things `make run` does, on the production-shaped executor: the
    Airflow of the lock on the Python of the venv, the Postgres major of the embedded cluster, every
    agency connection of the registry, the sandbox's real options, Celery workers that scale, and
    Metabase reading `published` as the read-only role."""
    import yaml

    from ingest.registry import SOURCES
    from ipkpi.pipeline.warehouse import ROLES
    from ipkpi.platform.services import pg_bin
    from sandbox.__main__ import build_parser

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    airflow_services = {
        "airflow-init": None,
        "airflow-api-server": ["api-server"],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
        "airflow-worker": ["celery", "worker"],
    }
    assert set(airflow_services) | {"warehouse", "airflow-db", "redis", "sandbox", "metabase", "metabase-setup"} <= set(
        services
    )

    # images: Airflow of the lock, on this Python; Postgres of the embedded cluster's major version
    lock = (ROOT / "requirements.lock").read_text()
    airflow_version = re.search(r"^apache-airflow==(\S+)$", lock, flags=re.M).group(1)
    base_image = re.search(r"^FROM (\S+)", (ROOT / "docker" / "Dockerfile").read_text(), flags=re.M).group(1)
    assert base_image == f"apache/airflow:{airflow_version}-python{sys.version_info.major}.{sys.version_info.minor}"
    pg_major = pg_bin().parent.name
    assert services["warehouse"]["image"] == services["airflow-db"]["image"] == f"postgres:{pg_major}"

    for name, command in airflow_services.items():
        service = services[name]
        assert service["image"] == "ipkpi-airflow:latest", name
        if command:
            assert service["command"] == command, name
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert {f"AIRFLOW_CONN_{conn_id.upper()}" for conn_id in SOURCES.values()} <= set(env)
        # only settings the code reads (a misspelt IPKPI_ variable would be silently ignored)
        for variable in (v for v in env if v.startswith("IPKPI_")):
            assert any(variable in p.read_text() for p in (ROOT / "ipkpi").rglob("*.py")), variable
    assert "airflow db migrate" in services["airflow-init"]["command"][-1]
    assert "ipkpi init" in services["airflow-init"]["command"][-1]
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale airflow-worker=N`
    assert re.search(r"^apache-airflow-providers-celery==", lock, flags=re.M)  # `airflow celery worker`
    # keys every Airflow component must share, set once for all of them as the native set-up does
    # (tests/test_celery.py runs compose's Celery settings natively)
    from ipkpi.platform.services import airflow_env

    shared = {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"}
    assert shared <= set(airflow_env(settings)) and shared <= set(compose["x-airflow"]["environment"])

    # least privilege (README "Security"): tasks log in as ipkpi_runner, never as the warehouse's
    # superuser (the image's POSTGRES_USER), which only set-up uses; a real auth manager; the sandbox
    # gets no secret of the pipeline
    superuser = services["warehouse"]["environment"]["POSTGRES_USER"]
    for name in (n for n in airflow_services if n != "airflow-init"):
        env = services[name]["environment"]
        assert env["IPKPI_WAREHOUSE_DSN"].startswith("postgresql://ipkpi_runner:"), name
        assert not any(f"//{superuser}:" in str(v) for v in env.values()), name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager"), name
    init = services["airflow-init"]
    assert init["environment"]["IPKPI_WAREHOUSE_DSN"].startswith(f"postgresql://{superuser}:")
    assert "airflow users create" in init["command"][-1]
    assert not any("${" in str(v) for v in services["sandbox"]["environment"].values())

    sandbox_command = services["sandbox"]["command"]
    assert sandbox_command[:3] == ["python", "-m", "sandbox"]
    build_parser().parse_args(sandbox_command[3:])  # exits (fails the test) on an option the sandbox lacks

    setup = services["metabase-setup"]
    assert setup["environment"]["BI_READER_USER"] == "bi_reader" and "bi_reader" in ROLES
    assert setup["environment"]["BI_READER_PASSWORD"].startswith("${BI_READER_PASSWORD")
    assert (
        setup["command"][-1] == "/opt/ipkpi/docker/metabase_setup.py"
        and (ROOT / "docker" / "metabase_setup.py").exists()
    )
    dsn = services["airflow-scheduler"]["environment"]["IPKPI_WAREHOUSE_DSN"]
    assert dsn.rsplit("/", 1)[1] == setup["environment"]["WAREHOUSE_DB"]
    assert 'schema-filters-patterns": "published' in (ROOT / "docker" / "metabase_setup.py").read_text()
