"""dbt's lists of sources and KPI models are derived, not kept by hand (no database needed).

- the seed `ref_sources` is the ingest registry, row for row;
- no dbt test lists source names (`accepted_values`): they test `relationships` to ref_sources;
- the KPI unions read exactly the models tagged `kpi_values` / `kpi_breakdowns`, one per declared
  source (macros/kpi_sources/<source>.sql), and every declared source is a registry source; the
  run's processed months are written after all of them and the sources' latest-state models;
- a tagged model without a declaration stops the union with an error naming it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.registry import SOURCES

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))
UNIONS = {"kpi_values": "int_kpi_observations", "kpi_breakdowns": "int_kpi_breakdowns"}


def dbt(args: list[str], project: Path, work: Path) -> subprocess.CompletedProcess:
    """dbt without a warehouse: parse and compile need none (the port points nowhere)."""
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", IPKPI_DBT_PORT="1")
    command = [DBT, "--no-use-colors", *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    return subprocess.run(command, env=env, cwd=project, capture_output=True, text=True)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("dbt-parse")
    result = dbt(["parse", "--no-partial-parse"], DBT_PROJECT, work)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((work / "target" / "manifest.json").read_text())


def ref_sources() -> list[dict]:
    with open(DBT_PROJECT / "seeds" / "ref_sources.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_ref_sources_is_the_registry():
    rows = ref_sources()
    assert [r["source"] for r in rows] == list(SOURCES), "one row per registry source, in the registry's order"
    for row in rows:
        # the agency is the one named by the connection (SOURCES.md: ``ipkpi_<agency>``)
        assert (row["conn_id"], row["agency"]) == (
            SOURCES[row["source"]],
            SOURCES[row["source"]].removeprefix("ipkpi_"),
        )


def models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_no_dbt_test_lists_source_names(manifest):
    names = set(SOURCES)
    listing = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (n.get("test_metadata") or {}).get("name") == "accepted_values"
        and names & set(n["test_metadata"]["kwargs"].get("values") or ())
    ]
    assert not listing, f"source names kept by hand in {listing}: test relationships to ref('ref_sources')"
    checked = {
        (manifest["nodes"][n["attached_node"]]["name"], n["column_name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (n.get("test_metadata") or {}).get("name") == "relationships"
        and "seed.ipkpi.ref_sources" in n["depends_on"]["nodes"]
    }
    assert {("stg_ingestion__source_months", "source"), ("kpi_catalogue", "source")} <= checked


def test_kpi_unions_read_every_tagged_model_of_a_registry_source(manifest):
    by_name = models(manifest)
    declared = {p.stem for p in (DBT_PROJECT / "macros" / "kpi_sources").glob("*.sql")}
    assert declared <= set(SOURCES), f"KPI declarations of sources not in the registry: {declared - set(SOURCES)}"
    for tag, union in UNIONS.items():
        tagged = {name for name, node in by_name.items() if tag in node["tags"]}
        parents = {p.split(".")[-1] for p in by_name[union]["depends_on"]["nodes"]}
        assert parents == tagged, f"{union} reads {sorted(parents)}, the models tagged {tag} are {sorted(tagged)}"
        assert {name.split("__", 1)[1] for name in tagged} <= declared, f"a {tag} model of an undeclared source"
        for name in tagged - {"int_kpis__amr_statistics"}:  # the statistics return's model is hand-written
            config = by_name[name]["config"]
            assert (config["materialized"], config["incremental_strategy"], config["unique_key"]) == (
                "incremental",
                "delete+insert",
                ["grain", "period"],
            ), name
    assert {n.split("__", 1)[1] for n in by_name if n.startswith("int_kpis__")} == declared
    # the run's processed months are written after every model that recomputes from the changed months
    readers = {"change_feed_current", "file_feed_current", "kpi_values_model", "kpi_breakdowns_model"}
    recompute = {n for n, node in by_name.items() if readers & {m.split(".")[-1] for m in node["depends_on"]["macros"]}}
    processed = {p.split(".")[-1] for p in by_name["int_ingestion__processed_months"]["depends_on"]["nodes"]}
    assert recompute and recompute <= processed, f"processed months may be written before {recompute - processed}"


def test_a_tagged_model_without_a_declaration_stops_the_union(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "models" / "intermediate" / "kpis" / "int_kpis__sixth.sql").write_text(
        "{{ config(tags=['kpi_values']) }}\nselect 'k'::text as kpi_code, 'year'::text as grain, '2020'::text as period,"
        " '330200'::text as region_code, 1::numeric as value\n"
    )
    result = dbt(["compile", "--no-populate-cache", "-s", "int_kpi_observations"], project, tmp_path)
    assert result.returncode != 0
    assert "without a declared source: ['int_kpis__sixth']" in result.stdout, result.stdout[-2000:]
