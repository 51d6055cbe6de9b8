"""A feed is one declaration (issue 18.1): its connector module. What other places need of it is
derived (registry, secrets, sandbox credentials, gate rules, white paper names) or, where a copy
must stay outside Python (the dbt seed and staging tests, the oracle's independent lists), held
equal to it here. No warehouse, no network: these run in well under a second."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
import yaml

from ingest import registry
from ingest.base import Agency, Source
from ingest.sources import police

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "contract" / "SOURCES.md"


def test_the_registry_is_every_connector_module_of_ingest_sources():
    modules = sorted(p.stem for p in (ROOT / "ingest" / "sources").glob("*.py") if p.stem != "__init__")
    assert sorted({type(s).__module__.rsplit(".", 1)[1] for s in registry.FEEDS.values()}) == modules
    # SOURCES keeps its meaning: source name -> Airflow connection id, in the contract's order
    assert registry.SOURCES == {name: source.agency.conn_id for name, source in registry.FEEDS.items()}
    assert [registry.connector(name).name for name in registry.SOURCES] == list(registry.SOURCES)
    sections = [registry.connector(name).agency.section for name in registry.SOURCES]
    assert sections == sorted(sections)
    with pytest.raises(KeyError, match="unknown source 'nope'"):
        registry.connector("nope")
    contract = CONTRACT.read_text()
    for name, source in registry.FEEDS.items():
        assert isinstance(source, Source) and source.name == name
        assert f"`{source.conn_id}`" in contract, source.conn_id
        assert source.display_name and source.agency.name and source.fields
        assert source.columns == tuple(f.raw_column for f in source.fields)
        # one Agency object per connection: the AMR's two endpoints share the agency's one credential
        assert registry.AGENCIES[source.agency.key] is source.agency
        # tests and benches find an agency's credential by its connection id without the prefix
        assert source.agency.conn_id == f"ipkpi_{source.agency.key}"
    assert registry.SOURCES["amr_cases"] == registry.SOURCES["amr_statistics"] == "ipkpi_amr"


def test_an_existing_secrets_file_gets_a_new_agencys_credential_when_first_needed(tmp_path, monkeypatch):
    """A secrets.json written before an agency was declared: the first process that needs the
    agency's connection creates its credential (not a KeyError), and changes nothing else."""
    from ipkpi.platform.config import Settings
    from ipkpi.platform.services import default_connections

    for agency in registry.AGENCIES.values():
        monkeypatch.delenv(f"AIRFLOW_CONN_{agency.conn_id.upper()}", raising=False)
    new = Agency(99, "patent_office", "ipkpi_patent_office", "宁波市知识产权局", credential="X-Api-Key: <password>")
    monkeypatch.setitem(registry.AGENCIES, new.key, new)

    old = {"pg": {"postgres": "p"}, "sandbox": {"court": "c", "customs": "x", "police": "y", "amr": "a"}}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    settings = Settings(home=tmp_path, pg_port=1, airflow_port=2, sandbox_port=3)
    conns = default_connections(settings)

    written = json.loads((tmp_path / "secrets.json").read_text())
    assert set(written["sandbox"]) == set(registry.AGENCIES)
    assert {k: written["sandbox"][k] for k in old["sandbox"]} == old["sandbox"]  # kept, not regenerated
    assert written["pg"]["postgres"] == "p"
    for key in ("finance", "patent_office"):
        conn_id = registry.AGENCIES[key].conn_id
        assert json.loads(conns[f"AIRFLOW_CONN_{conn_id.upper()}"])["password"] == written["sandbox"][key]
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_the_sandbox_serves_every_declared_agency_with_its_credential():
    from sandbox import SandboxConfig
    from sandbox.config import AGENCIES
    from sandbox.server import App

    assert AGENCIES == tuple(registry.AGENCIES)
    with pytest.raises(ValueError, match="no credential configured for .*police"):
        App(SandboxConfig(credentials={a: "s" for a in AGENCIES if a != "police"}))
    routed = {agency for _, _, agency, _ in App(SandboxConfig(credentials={a: "s" for a in AGENCIES})).routes}
    assert routed == set(AGENCIES)


def test_the_police_offences_are_declared_once():
    """The 案由 list lives in ingest/sources/police.py. The sandbox generates from it and the gate
    checks against it (derived); the dbt seed and staging test and the oracle's independent list
    are held to it here."""
    from ipkpi.pipeline.gate import load_suites, suite_expectations
    from sandbox import oracle
    from sandbox.dataset import police as generated

    assert generated.OFFENCES is police.OFFENCES
    assert oracle.MEMBERS["offence"] == police.OFFENCES
    seed = ROOT / "dbt_project" / "seeds" / "ref_dimension_members.csv"
    with seed.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["dimension"] == "offence"]
    assert tuple(r["member"] for r in sorted(rows, key=lambda r: int(r["sort_order"]))) == police.OFFENCES
    suite = next(s for s in load_suites() if s["table"] == "police_cases")
    folded = json.dumps(suite_expectations(suite), ensure_ascii=False)
    assert all(offence in folded for offence in police.OFFENCES)
    for path in ROOT.glob("expectations/suites/*.json"):  # no suite holds a copy of a declared list
        assert "销售侵权复制品罪" not in path.read_text(), path


def test_every_copy_of_an_enumeration_outside_python_equals_the_declaration():
    """dbt's staging accepted_values and the mart's members (seed ref_dimension_members), and the
    oracle's members, are the connectors' enumerations, in the contract's order."""
    from sandbox import oracle

    enumerations: dict[str, dict[str, tuple]] = {}  # agency key -> column -> values
    for source in registry.FEEDS.values():
        enumerations.setdefault(source.agency.key, {}).update(source.enumerations)
    checked = 0
    for path in sorted(ROOT.glob("dbt_project/models/staging/*/_*__models.yml")):
        declared = enumerations.get(path.parent.name)
        if declared is None:
            continue
        for model in yaml.safe_load(path.read_text())["models"]:
            for column in model.get("columns", []):
                for test in column.get("data_tests", []):
                    if isinstance(test, dict) and "accepted_values" in test and column["name"] in declared:
                        values = test["accepted_values"]["arguments"]["values"]
                        assert tuple(values) == declared[column["name"]], (path.name, column["name"])
                        checked += 1
    assert checked >= 12
    with (ROOT / "dbt_project" / "seeds" / "ref_dimension_members.csv").open(encoding="utf-8") as f:
        members: dict[str, list] = {}
        for row in sorted(csv.DictReader(f), key=lambda r: (r["dimension"], int(r["sort_order"]))):
            members.setdefault(row["dimension"], []).append(row["member"])
    everywhere = [values for columns in enumerations.values() for values in columns.items()]
    for dimension, values in members.items():
        assert (dimension, tuple(values)) in everywhere, dimension
        assert oracle.MEMBERS[dimension] == tuple(values), dimension


def test_the_gate_checks_what_the_connectors_declare():
    from ipkpi.pipeline.gate import declared_rules, load_suites, suite_expectations

    raw = [s for s in load_suites() if s.get("from_connector")]
    assert {f"{s['schema']}.{s['table']}" for s in raw} == {s.raw_table for s in registry.FEEDS.values()}
    for spec in raw:
        source = next(s for s in registry.FEEDS.values() if s.raw_table == f"{spec['schema']}.{spec['table']}")
        rules = declared_rules(spec)
        in_set = {r["kwargs"]["column"]: tuple(r["kwargs"]["value_set"]) for r in rules if "value_set" in r["kwargs"]}
        assert {c: v for c, v in in_set.items() if c in source.enumerations} == source.enumerations
        hand = {json.dumps(e["kwargs"], sort_keys=True) for e in spec["expectations"]}
        assert not hand & {json.dumps(r["kwargs"], sort_keys=True) for r in rules}, spec["name"]  # no copies
        columns = suite_expectations(spec)[0]["kwargs"]["column_list"]
        assert columns[-len(source.columns) :] == [c.name for c in source.columns]


def test_the_white_paper_names_each_source_as_declared():
    from ipkpi.whitepaper.data import SOURCE_NAMES

    assert SOURCE_NAMES == {name: s.display_name for name, s in registry.FEEDS.items()}
    assert SOURCE_NAMES["police"] == "宁波市公安局 知识产权刑事案件"
