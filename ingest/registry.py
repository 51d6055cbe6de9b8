"""The sources the pipeline ingests. Kept import-light: the DAG file reads it at parse time.

A source is one feed endpoint; the AMR agency has two (cases and the statistics return), both
reached through its one connection.
"""

SOURCES: dict[str, str] = {
    # source name -> Airflow connection id (../shared/contract/SOURCES.md)
    "court": "ipkpi_court",
    "customs": "ipkpi_customs",
    "police": "ipkpi_police",
    "amr_cases": "ipkpi_amr",
    "amr_statistics": "ipkpi_amr",
    "finance": "ipkpi_finance",
}

# source name -> "module:object" of its connector
CONNECTORS: dict[str, str] = {
    "court": "ingest.sources.court:SOURCE",
    "customs": "ingest.sources.customs:SOURCE",
    "police": "ingest.sources.police:SOURCE",
    "amr_cases": "ingest.sources.amr:CASES",
    "amr_statistics": "ingest.sources.amr:STATISTICS",
    "finance": "ingest.sources.finance:SOURCE",
}


def connector(name: str):
    """The connector of a source (imported lazily: it pulls in requests, pyarrow...)."""
    import importlib

    if name not in CONNECTORS:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(CONNECTORS)}")
    module, attr = CONNECTORS[name].split(":")
    return getattr(importlib.import_module(module), attr)
