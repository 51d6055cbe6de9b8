"""The quality gate: Great Expectations suites, versioned in ``expectations/suites/``, run against
the publication candidate in the warehouse. A failed ``error`` expectation blocks publication;
a failed ``warning`` is recorded and shown but does not block.

Suite files are JSON: ``{"name", "schema", "table", "expectations": [{"type", "kwargs",
"severity": "error"|"warning", "meta"}]}``. ``schema`` may be ``{candidate}`` (the schema dbt built
the candidate into). The GX context is a file context under ``$IPKPI_HOME/gx`` (runtime state,
Data Docs), rebuilt from the versioned suites on every run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ipkpi.platform.config import ROOT

SUITES_DIR = ROOT / "expectations" / "suites"
SEVERITY_TO_GX = {"error": "critical", "warning": "warning"}
MAX_ROWS = 50  # unexpected rows kept per check in the publication log


@dataclass
class CheckResult:
    suite: str
    check: str
    severity: str
    success: bool
    table: str
    detail: dict = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == "error" and not self.success

    def describe(self) -> str:
        """One line naming the check, and where it failed (the first rows: source, period, record)."""
        observed = self.detail.get("observed")
        text = f"[{self.severity}] {self.suite}: {self.check}" + (
            f" (observed {observed})" if observed is not None else ""
        )
        rows = self.detail.get("rows") or []
        if rows:
            text += " — e.g. " + "; ".join(
                ", ".join(f"{k}={v}" for k, v in r.items()) if isinstance(r, dict) else str(r) for r in rows[:3]
            )
        return text


@dataclass
class GateResult:
    checks: list[CheckResult]
    data_docs: str | None = None

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success]

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocking]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def summary(self) -> dict:
        suites = sorted({c.suite for c in self.checks})
        return {
            "data_docs": self.data_docs,
            "suites": {s: all(c.success or c.severity != "error" for c in self.checks if c.suite == s) for s in suites},
            "failed": [c.__dict__ for c in self.failed],
        }


def load_suites(directory: Path = SUITES_DIR) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def schema_expectations(spec: dict) -> list[dict]:
    """A raw table's columns, as its connector declares them (``from_connector``); Postgres'
    column types enforce the types."""
    if not spec.get("from_connector"):
        return []
    from ingest.store import POSITION_COLUMNS

    source = connector_of(spec)
    columns = [c.name for c in (*POSITION_COLUMNS, *source.columns)]
    return [
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": columns},
            "severity": "error",
            "meta": {"why": f"the raw table has the columns {source.name}'s connector declares"},
        }
    ]


def connector_of(spec: dict):
    """The connector whose raw table the suite checks."""
    from ingest.registry import FEEDS

    table = f"{spec['schema']}.{spec['table']}"
    found = [source for source in FEEDS.values() if source.raw_table == table]
    if not found:
        raise ValueError(f"suite {spec['name']}: no connector declares the raw table {table}")
    return found[0]


NUMBER_KINDS = {"decimal", "integer", "wan"}


def declared_rules(spec: dict) -> list[dict]:
    """The row rules a raw table's connector declares with its fields (``from_connector``), in field
    order: not null for every ``not null`` column, the contract's enumerations, the region codes,
    no negative counts or amounts, 18-character USCCs. The suite's JSON holds the rest (keys,
    cross-row checks), never a copy of these."""
    if not spec.get("from_connector"):
        return []
    from ingest.fields import region_codes

    def rule(kind: str, field, why: str | None = None, **kwargs) -> dict:
        rule = {"type": kind, "kwargs": {"column": field.column, **kwargs}, "severity": "error"}
        return {**rule, "meta": {"why": why}} if why else rule

    rules = []
    for f in connector_of(spec).fields:
        if "not null" in f.pg_type:
            rules.append(rule("expect_column_values_to_not_be_null", f))
        if f.kind == "enum":
            rules.append(rule("expect_column_values_to_be_in_set", f, value_set=list(f.allowed)))
        elif f.kind == "region":
            rules.append(rule("expect_column_values_to_be_in_set", f, value_set=sorted(region_codes())))
        elif f.kind in NUMBER_KINDS:
            rules.append(rule("expect_column_values_to_be_between", f, "no negative counts or amounts", min_value=0))
        elif f.kind == "uscc":
            rules.append(rule("expect_column_value_lengths_to_equal", f, value=18))
    return rules


def suite_expectations(spec: dict) -> list[dict]:
    """Every expectation of a suite: the connector's declarations, then its JSON's, row rules folded."""
    declared = declared_rules(spec)
    return [*schema_expectations(spec), *one_scan({**spec, "expectations": [*declared, *spec["expectations"]]})]


ROW_RULES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_value_lengths_to_equal",
}


def _lit(value) -> str:
    return str(value) if isinstance(value, (int, float)) else "'" + str(value).replace("'", "''") + "'"


def _rule(e: dict) -> tuple[str, str]:
    """(SQL condition true for an offending row, its name) of a row-level expectation; NULLs pass
    every rule but not-null, as in GX."""
    kw, kind = e["kwargs"], e["type"]
    column = '"' + kw["column"] + '"'
    if kind == "expect_column_values_to_not_be_null":
        return f"{column} IS NULL", f"not null: {kw['column']}"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_lit(v) for v in kw["value_set"])
        return f"{column} NOT IN ({values})", f"value of {kw['column']} outside the contract's set"
    if kind == "expect_column_value_lengths_to_equal":
        return f"length({column}) <> {kw['value']}", f"length of {kw['column']} is not {kw['value']}"
    bounds = [f"{column} < {_lit(kw['min_value'])}"] if kw.get("min_value") is not None else []
    bounds += [f"{column} > {_lit(kw['max_value'])}"] if kw.get("max_value") is not None else []
    return " OR ".join(bounds), f"{kw['column']} out of range"


def one_scan(spec: dict) -> list[dict]:
    """A suite's row-level rules (not null, sets, ranges, lengths) as ONE query per severity: one scan
    of the table names every offending row and the rule it breaks (``one_scan`` suites)."""
    if not spec.get("one_scan"):
        return spec["expectations"]
    folded, rest = {}, []
    for e in spec["expectations"]:
        (folded.setdefault(e["severity"], []) if e["type"] in ROW_RULES else rest).append(e)
    for severity, rules in folded.items():
        cases = "\n".join(f"        WHEN {cond} THEN {_lit(name)}" for cond, name in map(_rule, rules))
        query = (
            f"SELECT load_id, (SELECT period FROM raw.loads AS l WHERE l.load_id = r.load_id) AS period,\n"
            f"       source_page, source_row, rule\n"
            f"FROM (SELECT load_id, source_page, source_row, CASE\n{cases}\n    END AS rule FROM {{batch}}) AS r\n"
            f"WHERE rule IS NOT NULL"
        )
        rest.insert(
            0,
            {
                "type": "unexpected_rows_expectation",
                "severity": severity,
                "kwargs": {"unexpected_rows_query": query},
                "meta": {
                    "why": f"{spec['table']}: {len(rules)} row rules in one scan (not null, "
                    f"the contract's enumerations, no negative counts or amounts)"
                },
            },
        )
    return rest


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg2://", 1)


def run_gate(dsn: str, home: Path, candidate_schema: str, run_name: str) -> GateResult:
    """Validate every suite; build Data Docs; return every check's outcome."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    # The connection string stays in the environment: GX writes only "${IPKPI_GX_DSN}" to disk.
    os.environ["IPKPI_GX_DSN"] = sqlalchemy_url(dsn)
    # the definitions are rebuilt from the versioned suites each run; results and Data Docs stay
    import shutil

    from great_expectations.data_context.types.base import ProgressBarsConfig

    for stale in ("checkpoints", "validation_definitions", "expectations"):
        shutil.rmtree(home / "gx" / "gx" / stale, ignore_errors=True)
    context = gx.get_context(mode="file", project_root_dir=str(home / "gx"))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_postgres(name="warehouse", connection_string="${IPKPI_GX_DSN}")

    definitions = []
    for spec in load_suites():
        schema = spec["schema"].format(candidate=candidate_schema)
        asset_name = f"{schema}.{spec['table']}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_table_asset(name=asset_name, table_name=spec["table"], schema_name=schema)
        batch = next(
            (b for b in asset.batch_definitions if b.name == "whole_table"), None
        ) or asset.add_batch_definition_whole_table("whole_table")
        suite = gx.ExpectationSuite(name=spec["name"])
        for e in suite_expectations(spec):
            kwargs = dict(e["kwargs"])
            if "unexpected_rows_query" in kwargs:  # other candidate relations, by the candidate's schema
                kwargs["unexpected_rows_query"] = kwargs["unexpected_rows_query"].replace(
                    "{candidate}", candidate_schema
                )
            expectation = gx.expectations.registry.get_expectation_impl(e["type"])(
                **kwargs, severity=SEVERITY_TO_GX[e["severity"]], meta={**e.get("meta", {}), "severity": e["severity"]}
            )
            suite.add_expectation(expectation)
        suite = context.suites.add_or_update(suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=spec["name"], data=batch, suite=suite)
            )
        )

    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="publication_gate",
            validation_definitions=definitions,
            actions=[],
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
        )
    )
    outcome = checkpoint.run(run_id=gx.RunIdentifier(run_name=run_name))
    # Data Docs once for this run's results (GX's UpdateDataDocsAction rebuilds the whole site per suite)
    context.build_data_docs(resource_identifiers=list(outcome.run_results))

    checks = []
    for validation in outcome.run_results.values():
        suite_name = validation.suite_name
        table = validation.meta.get("active_batch_definition", {}).get("data_asset_name", "")
        for r in validation.results:
            cfg, result = r.expectation_config, (r.result or {})
            observed = result.get("observed_value", result.get("unexpected_count"))
            rows = (result.get("details") or {}).get("unexpected_rows") or result.get("partial_unexpected_list")
            raised = [i for i in (r.exception_info or {}).values() if isinstance(i, dict) and i.get("raised_exception")]
            if raised:  # a check that could not run has failed: say why
                observed = "check raised: " + str(raised[0].get("exception_message")).split("\n")[0][:300]
            checks.append(
                CheckResult(
                    suite=suite_name,
                    check=_describe(cfg),
                    severity=cfg.meta.get("severity", "error"),
                    success=bool(r.success),
                    table=str(table),
                    detail={
                        "observed": observed,
                        "why": cfg.meta.get("why"),
                        "rows": _jsonable(rows[:MAX_ROWS] if rows else []),
                    },
                )
            )
    docs = context.get_docs_sites_urls()
    return GateResult(checks, data_docs=docs[0]["site_url"] if docs else None)


def _describe(cfg) -> str:
    """A short name for a check: its `why` for SQL checks, else the expectation and its column."""
    if cfg.type == "unexpected_rows_expectation":
        return cfg.meta.get("why") or "unexpected rows"
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{cfg.type}({args})"


def _jsonable(rows) -> list:
    import datetime as dt
    from decimal import Decimal

    def value(v):
        if isinstance(v, Decimal):
            return float(v) if v != v.to_integral_value() else int(v)
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return v

    return [{k: value(v) for k, v in r.items()} if isinstance(r, dict) else value(r) for r in rows]
