"""The sources the pipeline ingests, derived from the connectors' own declarations: every module
of ``ingest.sources`` and the :class:`~ingest.base.Source` instances it defines. Adding a feed is
adding its module (README "Adding a feed"); nothing here is edited.

Kept import-light: the DAG file reads it at parse time, and the connector modules import their
HTTP, JSON, Arrow and workbook libraries inside ``fetch``/``parse`` (tests/test_foundation.py
holds both to it). A source is one feed endpoint; the AMR agency has two (cases and the statistics
return), both reached through its one connection.
"""

from __future__ import annotations

import importlib
import pkgutil

import ingest.sources
from ingest.base import Agency, Source


def _declared() -> dict[str, Source]:
    """Every connector of ``ingest/sources/``, in the contract's order (SOURCES.md §1–§n, then as
    its module defines them)."""
    found: list[Source] = []
    for module in pkgutil.iter_modules(ingest.sources.__path__):
        attributes = vars(importlib.import_module(f"{ingest.sources.__name__}.{module.name}"))
        found += [value for value in attributes.values() if isinstance(value, Source)]
    feeds: dict[str, Source] = {}
    for source in sorted(found, key=lambda s: s.agency.section):  # stable: a module's own order stays
        if source.name in feeds:
            raise ValueError(f"source {source.name!r} is declared twice ({feeds[source.name]!r}, {source!r})")
        feeds[source.name] = source
    return feeds


# source name -> its connector (a Source instance, import-light)
FEEDS: dict[str, Source] = _declared()
# source name -> Airflow connection id (../shared/contract/SOURCES.md)
SOURCES: dict[str, str] = {name: source.conn_id for name, source in FEEDS.items()}
# credential key -> agency (one connection and one credential each), in the contract's order
AGENCIES: dict[str, Agency] = {source.agency.key: source.agency for source in FEEDS.values()}


def connector(name: str) -> Source:
    """The connector of a source."""
    if name not in FEEDS:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(FEEDS)}")
    return FEEDS[name]
