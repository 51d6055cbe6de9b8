"""Register the warehouse's `published` schema in Metabase as the read-only BI role (docker-compose).

Idempotent: the first run creates Metabase's admin from the setup token; later runs log in as that
admin and add the database only if it is not there yet. Every setting comes from the environment
(see docker-compose.yml, service `metabase-setup`); nothing secret is printed.
"""

from __future__ import annotations

import os
import sys
import time

import requests

DATABASE_NAME = "宁波知识产权统计 (published)"


def main() -> int:
    base = os.environ["METABASE_URL"].rstrip("/")
    email, password = os.environ["METABASE_ADMIN_EMAIL"], os.environ["METABASE_ADMIN_PASSWORD"]
    http = requests.Session()
    wait_until_healthy(http, base)

    token = http.get(f"{base}/api/session/properties", timeout=10).json().get("setup-token")
    if token:  # a fresh Metabase: create the admin (this also logs in)
        response = http.post(
            f"{base}/api/setup",
            timeout=30,
            json={
                "token": token,
                "user": {
                    "email": email,
                    "password": password,
                    "first_name": "ipkpi",
                    "last_name": "admin",
                    "site_name": "宁波市知识产权统计",
                },
                "prefs": {"site_name": "宁波市知识产权统计", "site_locale": "zh", "allow_tracking": False},
            },
        )
    else:
        response = http.post(f"{base}/api/session", timeout=30, json={"username": email, "password": password})
    response.raise_for_status()
    http.headers["X-Metabase-Session"] = response.json()["id"]

    listed = http.get(f"{base}/api/database", timeout=30).json()
    databases = listed.get("data", listed) if isinstance(listed, dict) else listed
    if any(d.get("name") == DATABASE_NAME for d in databases):
        print(f"metabase: {DATABASE_NAME!r} already registered")
        return 0
    http.post(
        f"{base}/api/database",
        timeout=60,
        json={
            "engine": "postgres",
            "name": DATABASE_NAME,
            "details": {
                "host": os.environ["WAREHOUSE_HOST"],
                "port": int(os.environ["WAREHOUSE_PORT"]),
                "dbname": os.environ["WAREHOUSE_DB"],
                "user": os.environ["BI_READER_USER"],
                "password": os.environ["BI_READER_PASSWORD"],
                "ssl": False,
                # BI sees the publication only (bi_reader could not read anything else anyway)
                "schema-filters-type": "inclusion",
                "schema-filters-patterns": "published",
            },
        },
    ).raise_for_status()
    print(f"metabase: registered {DATABASE_NAME!r} as {os.environ['BI_READER_USER']}, schema published")
    return 0


def wait_until_healthy(http: requests.Session, base: str, seconds: int = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http.get(f"{base}/api/health", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(3)
    sys.exit(f"metabase: {base} not healthy after {seconds} s")


if __name__ == "__main__":
    sys.exit(main())
