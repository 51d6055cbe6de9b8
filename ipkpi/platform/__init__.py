"""The platform: what runs the pipeline, not the pipeline itself.

``config`` (settings from the environment, the schedule's and retries' knobs), ``services`` (the
embedded Postgres, Airflow and sandbox processes, secrets, connections), ``airflow_client`` (the
REST API the CLI triggers runs through), ``notify`` (the failure callback). Nothing here imports
the pipeline's steps, the mart's reads or the white paper (tests/test_foundation.py holds the rooms).
"""
