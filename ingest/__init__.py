"""Ingestion: one connector per agency (``ingest.sources``) behind one small interface
(``ingest.base.Source``); what every feed shares — HTTP with retries, archiving, loading,
quarantine — lives once in ``ingest.http``, ``ingest.store`` and ``ingest.runner``."""
