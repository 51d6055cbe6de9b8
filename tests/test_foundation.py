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
    for path in ("dags", "dbt_project", "expectations", "ingest", "tests", "docker-compose.yml", "README.md",
                 "Makefile", "requirements.lock", ".ci/run"):
        assert (ROOT / path).exists(), path


def test_dependencies_fully_pinned():
    lines = [ln.strip() for ln in (ROOT / "requirements.lock").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
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


def test_dag_file_is_thin():
    """Parsing the DAG file imports neither the database driver, nor dbt, GX, openpyxl or our connectors."""
    probe = ("import runpy, sys, json; runpy.run_path('dags/ipkpi_pipeline.py');"
             "heavy = ['psycopg', 'great_expectations', 'dbt', 'openpyxl', 'ingest.runner', 'ingest.sources.customs',"
             " 'ipkpi.pipeline'];"
             "print(json.dumps([m for m in heavy if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_dag_structure():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["ipkpi_pipeline"]
    from ingest.registry import SOURCES

    ingest_tasks = {f"ingest_{s}" for s in SOURCES}
    assert ingest_tasks | {"begin", "transform", "validate", "publish"} == set(dag.task_ids)
    assert dag.max_active_runs == 1
    assert dag.get_task("begin").upstream_task_ids == ingest_tasks
    assert dag.get_task("publish").upstream_task_ids == {"validate"}
    assert dag.get_task("validate").upstream_task_ids == {"transform"}
    # monthly data intervals in Asia/Shanghai, as the scheduler will compute them
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    timetable = decode_timetable(encode_timetable(dag.timetable))
    # a run at 2020-04-10 covers the last complete month: March, in Shanghai time
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2020, 4, 10, tz="Asia/Shanghai"))
    assert interval.start == pendulum.datetime(2020, 3, 1, tz="Asia/Shanghai")
    assert interval.end == pendulum.datetime(2020, 4, 1, tz="Asia/Shanghai")


def test_months_in_interval_shanghai():
    from ipkpi.pipeline import month_bounds, months_in_interval

    start, end = month_bounds("2018-01", "2025-12")
    months = months_in_interval(start, end)
    assert len(months) == 96 and months[0] == "2018-01" and months[-1] == "2025-12"
    # a UTC interval that starts at 16:00Z on the last day of February is March 1st in Shanghai
    utc = pendulum.timezone("UTC")
    assert months_in_interval(datetime(2020, 2, 29, 16, tzinfo=utc), datetime(2020, 3, 31, 16, tzinfo=utc)) == ["2020-03"]
    with pytest.raises(ValueError):
        month_bounds("2020-05", "2020-04")


def test_secrets_not_in_repo():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not any(p.startswith("var/") or p.endswith("secrets.json") for p in tracked)


def test_compose_file_is_valid():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
