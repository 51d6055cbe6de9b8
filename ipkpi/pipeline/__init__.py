"""The pipeline's steps, in the order data flows through them.

``ingest`` (the top-level package: feed → raw) → ``transform`` (dbt: raw → staging → intermediate
→ marts, built into a candidate schema) → ``gate`` (Great Expectations on the candidate) →
``publish`` (the atomic swap into ``published``) → ``vintages`` (each publication's history).
``steps`` holds the functions the DAG's tasks call, ``schedule`` what one run covers, ``warehouse``
the schemas, roles and grants the steps write into, ``retention`` what may be pruned. Reads of the
published mart are not here but in ``ipkpi.mart``.
"""
