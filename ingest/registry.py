"""The agencies the pipeline ingests, by name. Kept import-light: DAG files read it at parse time."""

SOURCES: dict[str, str] = {
    # source name -> Airflow connection id (../shared/contract/SOURCES.md)
    "customs": "ipkpi_customs",
}


def source_module(name: str):
    """The connector module of a source (imported lazily: it pulls in requests, openpyxl...)."""
    import importlib

    if name not in SOURCES:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
    return importlib.import_module(f"ingest.sources.{name}")
