"""A small client of Airflow's REST API (v2), as `ipkpi run` uses it to trigger and follow runs."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import requests

from ipkpi.platform.config import Settings

DAG_ID = "ipkpi_pipeline"


class AirflowClient:
    def __init__(self, settings: Settings):
        self.base = settings.airflow_url
        self.session = requests.Session()
        self._password = settings.secrets["airflow_admin_password"]
        self.login()

    def login(self) -> None:
        token = requests.post(
            f"{self.base}/auth/token", timeout=30, json={"username": "ipkpi", "password": self._password}
        )
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, f"{self.base}/api/v2{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response

    def wait_for_dag(self, dag_id: str = DAG_ID, timeout: float = 180.0) -> None:
        """Until the dag-processor has parsed the DAG; then make sure it is not paused."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.session.get(f"{self.base}/api/v2/dags/{dag_id}", timeout=30)
            if response.status_code == 200:
                if response.json().get("is_paused"):
                    self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow has not parsed DAG {dag_id} after {timeout:.0f} s (see var/logs/)")
            time.sleep(1)

    def trigger(
        self,
        run_id: str,
        start: datetime,
        end: datetime,
        conf: dict | None = None,
        run_after: datetime | None = None,
        dag_id: str = DAG_ID,
    ) -> dict:
        """A manual run with an explicit data interval. Its logical date is the trigger time, as for
        any manual run: a logical date is unique per DAG, and the same range may be run again."""
        now = datetime.now(timezone.utc).isoformat()
        body = {
            "dag_run_id": run_id,
            "logical_date": now,
            "data_interval_start": start.isoformat(),
            "data_interval_end": end.isoformat(),
            "conf": conf or {},
        }
        if run_after is not None:
            body["run_after"] = run_after.isoformat()
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body).json()

    def run(self, run_id: str, dag_id: str = DAG_ID) -> dict:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()

    def task_instances(self, run_id: str, dag_id: str = DAG_ID) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]

    def xcom(self, run_id: str, task_id: str, dag_id: str = DAG_ID):
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        response = self.session.get(f"{self.base}/api/v2{path}", timeout=30)
        return response.json().get("value") if response.status_code == 200 else None

    def task_log(self, run_id: str, task_id: str, try_number: int, dag_id: str = DAG_ID) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        response = self.session.get(
            f"{self.base}/api/v2{path}",
            params={"full_content": "true"},
            timeout=60,
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            return ""
        content = response.json().get("content", "")
        if isinstance(content, list):  # structured log: one dict per event
            return "\n".join(_log_line(e) for e in content)
        return str(content)


def _log_line(event) -> str:
    if not isinstance(event, dict):
        return str(event)
    line = str(event.get("event", ""))
    if event.get("error_detail"):
        for err in event["error_detail"]:
            line += f"\n{err.get('exc_type', '')}: {err.get('exc_value', '')}"
    return line
