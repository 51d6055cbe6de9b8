"""On-failure callback: one concise summary of what failed, logged, and posted to a webhook when
the Airflow connection ``ipkpi_alerts`` exists (``AIRFLOW_CONN_IPKPI_ALERTS='{"conn_type":"http",
"host":"https://hooks.example/…"}'``; its password, if any, is sent as a Bearer token)."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("ipkpi.platform.notify")
ALERTS_CONN_ID = "ipkpi_alerts"


def summarise(context) -> dict:
    """What a person needs first: which run, which step, why (the gate's blocking checks too)."""
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    summary = {
        "dag_id": getattr(ti, "dag_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": (f"{type(exception).__name__}: {exception}" if exception else "failed")[:2000],
    }
    summary["text"] = (f"ipkpi: {summary['task_id']} failed in {summary['run_id']} — {summary['error']}")[:3000]
    return summary


def webhook(conn_id: str = ALERTS_CONN_ID):
    """(url, headers) of the alerts connection, or None when there is none."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # not configured: logging is enough
        return None
    url = conn.host or ""
    if conn.port and f":{conn.port}" not in url:
        url = f"{url}:{conn.port}"
    if "://" not in url:
        url = f"{conn.schema or 'https'}://{url}"
    headers = {"Content-Type": "application/json"}
    if conn.password:
        headers["Authorization"] = f"Bearer {conn.password}"
    return url, headers


def on_failure(context) -> None:
    summary = summarise(context)
    log.error("%s", summary["text"])
    post(summary)


def post(summary: dict) -> None:
    """Post an alert (a dict with at least ``text``) to the alerts webhook, when one is configured."""
    target = webhook()
    if target is None:
        return
    import requests

    url, headers = target
    try:
        requests.post(url, data=json.dumps(summary, ensure_ascii=False).encode(), headers=headers, timeout=10)
    except requests.RequestException as exc:  # an alert that cannot be sent must not hide the failure
        log.warning("could not post an alert to connection %s: %s", ALERTS_CONN_ID, type(exc).__name__)
