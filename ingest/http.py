"""HTTP for every feed, written once: time-outs, retries with back-off honouring Retry-After,
credentials that never reach a message or a log.

Transient faults (429, 500, 502, 503, 504, connection resets, read time-outs) are retried by
urllib3's ``Retry``; a request that still fails raises, and Airflow retries the task.
401/403 is a configuration error: it fails at once, naming the connection id.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# a body is read in pieces of this size: requests' own 10 KB pieces cost a ×1000 police year
# (35 MB) 0.12 s of CPU against 0.05 s
BODY_PIECE = 1 << 20
SECRET_PARAMS = {"access_token"}
SECRET_IN_TEXT = re.compile(r"(access_token=)[^&\s'\"]+")


class _MaskSecrets(logging.Filter):
    """urllib3 logs each retry with the request URL: mask credential parameters in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = SECRET_IN_TEXT.sub(r"\1***", str(record.msg))
        if record.args:
            record.args = tuple(SECRET_IN_TEXT.sub(r"\1***", str(a)) for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskSecrets())


class AuthError(RuntimeError):
    pass


class TransientError(RuntimeError):
    """Retries exhausted: the task fails and Airflow retries it later."""


@dataclass(frozen=True)
class Endpoint:
    """An agency's base URL and credential, from an Airflow connection."""

    conn_id: str
    host: str
    password: str | None = None
    login: str | None = None

    def __repr__(self) -> str:  # never print the credential
        return f"Endpoint({self.conn_id!r}, {self.host!r})"

    @classmethod
    def from_airflow(cls, conn_id: str) -> "Endpoint":
        """Resolve through Airflow (env ``AIRFLOW_CONN_*`` first, then its secrets/metastore)."""
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        host = conn.host or ""
        if conn.port and f":{conn.port}" not in host:
            host = f"{host}:{conn.port}"
        if "://" not in host:
            host = f"{conn.schema or 'http'}://{host}"
        return cls(conn_id, host.rstrip("/"), conn.password, conn.login)

    @classmethod
    def from_env(cls, conn_id: str) -> "Endpoint":
        """The ``AIRFLOW_CONN_<ID>`` JSON form, read without Airflow (tools and benchmarks)."""
        raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if not raw:
            raise KeyError(f"connection {conn_id} is not set (AIRFLOW_CONN_{conn_id.upper()})")
        data = json.loads(raw)
        return cls(conn_id, data["host"].rstrip("/"), data.get("password"), data.get("login"))


@dataclass(frozen=True)
class Reply:
    """A response with its body read whole: what the connectors look at."""

    status_code: int
    url: str  # as requested, credentials included: show it through public_url
    headers: Mapping[str, str]
    content: bytes


def public_url(url: str) -> str:
    """The URL with credential parameters masked, fit for archives, messages and logs."""
    parts = urlsplit(url)
    query = [(k, "***" if k in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":%*")))


class FeedClient:
    """A requests session for one feed, with the shared retry policy."""

    def __init__(self, endpoint: Endpoint, *, timeout: tuple[float, float] = (5.0, 30.0),
                 retries: int = 6, backoff: float = 0.5, backoff_max: float = 30.0):
        self.endpoint = endpoint
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries, connect=retries, read=retries, status=retries, other=0,
            backoff_factor=backoff, backoff_max=backoff_max, status_forcelist=TRANSIENT_STATUSES,
            allowed_methods={"GET"}, respect_retry_after_header=True, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(self, path: str, *, params: dict | None = None, headers: dict | None = None,
            auth=None, what: str = "") -> Reply:
        """GET ``host + path``. Raises AuthError on 401/403, TransientError when retries run out."""
        url = self.endpoint.host + path
        try:
            with self.session.get(url, params=params, headers=headers, auth=auth, timeout=self.timeout,
                                  stream=True) as streamed:
                response = Reply(streamed.status_code, streamed.url, streamed.headers,
                                 b"".join(streamed.iter_content(BODY_PIECE)))
        except requests.RequestException as exc:
            shown = public_url(requests.Request("GET", url, params=params).prepare().url)
            raise TransientError(f"{what}: request failed after retries: {type(exc).__name__} ({shown})") from None
        shown = public_url(response.url)
        if response.status_code in (401, 403):
            raise AuthError(
                f"{what}: HTTP {response.status_code} from {shown}: check the credential of Airflow "
                f"connection '{self.endpoint.conn_id}' (AIRFLOW_CONN_{self.endpoint.conn_id.upper()})")
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientError(f"{what}: HTTP {response.status_code} after retries ({shown})")
        return response

    def close(self) -> None:
        self.session.close()
