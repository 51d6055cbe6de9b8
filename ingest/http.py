"""HTTP for every feed, written once: time-outs, retries with back-off honouring Retry-After,
credentials that never reach a message or a log, bounds on what a response may cost.

Transient faults (429, 500, 502, 503, 504, connection resets, read time-outs) are retried by
urllib3's ``Retry``; a request that still fails raises, and Airflow retries the task.
401/403 is a configuration error: it fails at once, naming the connection id.

A body is bounded (:mod:`ingest.limits`): its declared ``Content-Length``, the bytes on the wire
and the bytes decoded (gzip/deflate are undone piece by piece as they arrive) may not pass the
payload cap, and reading it may not take longer than the request deadline, wall-clock (requests'
read time-out is per read: a body trickled a byte at a time never trips it). Reading stops at
the bound — at most the cap plus one piece is ever held — and raises a :class:`FeedError`, which
is not retried: the same request would meet the same body.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ingest.base import FeedError
from ingest.limits import Limits, megabytes

TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# The shipped retry policy of every feed's requests (a request is tried RETRIES + 1 times, backing
# off 0.5 s, 1 s, 2 s … up to 30 s, or as Retry-After says); what outlasts it fails the task and
# Airflow's retries take over (ipkpi.platform.config.INGEST_TASK_RETRIES).
RETRIES = 6
BACKOFF = 0.5
BACKOFF_MAX = 30.0
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


class _Deadline:
    """Ends a body read at a wall-clock deadline: the watchdog shuts the connection's socket, which
    wakes a read blocked on a trickling peer. ``finish()`` says whether the deadline struck."""

    def __init__(self, streamed: requests.Response, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._lock = threading.Lock()
        self._sock = getattr(getattr(streamed.raw, "connection", None), "sock", None)
        _WATCHDOG.watch(self)

    def strike(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def passed(self) -> bool:
        """Checked between pieces: the deadline passed (whether or not the watchdog struck yet)."""
        if time.monotonic() > self.at:
            self.strike()
        return self.expired

    def finish(self) -> bool:
        with self._lock:
            self.done = True
            return self.expired


class _Watchdog:
    """One daemon thread for every body read of the process, striking each deadline that passes
    unfinished: watching a read costs a heap push, not a thread (a timer thread per request cost
    0.4 ms, a quarter of a small request). Finished reads leave the heap once at its top."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked task starts its own thread

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._cond:
            while self._heap and self._heap[0][2].done:  # reads finished since: their entries go
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ipkpi-body-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:  # a new earliest deadline: wake the thread to wait less
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            due.strike()


_WATCHDOG = _Watchdog()


class FeedClient:
    """A requests session for one feed, with the shared retry policy and bounds."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = RETRIES,
        backoff: float = BACKOFF,
        backoff_max: float = BACKOFF_MAX,
        limits: Limits | None = None,
    ):
        self.endpoint = endpoint
        self.timeout = timeout
        self.limits = limits or Limits.from_env()
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=backoff_max,
            status_forcelist=TRANSIENT_STATUSES,
            allowed_methods={"GET"},
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # the environment's proxies (NO_PROXY applied), CA bundle and .netrc, read once for the
        # feed's one host: requests reads them on every request otherwise, walking os.environ
        # twice — a fifth of the client's time on a page of 100 AMR cases
        environment = self.session.merge_environment_settings(endpoint.host, {}, None, None, None)
        netrc = requests.utils.get_netrc_auth(endpoint.host) if endpoint.host else None
        self.session.trust_env = False
        self.session.proxies.update(environment["proxies"])
        self.session.verify = environment["verify"]
        if netrc:
            self.session.auth = netrc  # as requests did: only where a request brings no auth of its own

    def get(
        self, path: str, *, source: str, period: str, params: dict | None = None, headers: dict | None = None, auth=None
    ) -> Reply:
        """GET ``host + path`` for a source's period. Raises AuthError on 401/403, TransientError
        when retries run out, FeedError when the body passes a bound (:mod:`ingest.limits`)."""
        url = self.endpoint.host + path
        what = f"{source} {period}"
        try:
            with self.session.get(
                url, params=params, headers=headers, auth=auth, timeout=self.timeout, stream=True
            ) as streamed:
                response = Reply(
                    streamed.status_code, streamed.url, streamed.headers, self._body(streamed, source, period)
                )
        except requests.RequestException as exc:
            shown = public_url(requests.Request("GET", url, params=params).prepare().url)
            raise TransientError(f"{what}: request failed after retries: {type(exc).__name__} ({shown})") from None
        shown = public_url(response.url)
        if response.status_code in (401, 403):
            raise AuthError(
                f"{what}: HTTP {response.status_code} from {shown}: check the credential of Airflow "
                f"connection '{self.endpoint.conn_id}' (AIRFLOW_CONN_{self.endpoint.conn_id.upper()})"
            )
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientError(f"{what}: HTTP {response.status_code} after retries ({shown})")
        return response

    def _body(self, streamed: requests.Response, source: str, period: str) -> bytes:
        """The body, read in BODY_PIECE pieces within the payload cap and the deadline."""
        limits = self.limits
        cap = limits.max_payload_bytes

        def refuse(reason: str) -> FeedError:
            return FeedError(source, period, public_url(streamed.url), reason)

        over = f"over the payload cap of {megabytes(cap)} (IPKPI_MAX_PAYLOAD_MB)"
        declared = streamed.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            raise refuse(f"Content-Length {int(declared):,} bytes, {over}")
        deadline = _Deadline(streamed, limits.request_deadline_s)
        late = (
            f"body not received within the request deadline of {limits.request_deadline_s:g} s "
            f"(IPKPI_REQUEST_DEADLINE_S)"
        )
        pieces: list[bytes] = []
        decoded = 0
        try:
            for piece in streamed.iter_content(BODY_PIECE):  # gzip/deflate undone a piece at a time
                decoded += len(piece)
                if decoded > cap:
                    raise refuse(f"body {over}: stopped after {decoded:,} bytes decoded")
                if streamed.raw.tell() > cap:
                    raise refuse(f"body {over}: stopped after {streamed.raw.tell():,} bytes received")
                if deadline.passed():
                    raise refuse(f"{late}: {decoded:,} bytes in")
                pieces.append(piece)
        except requests.RequestException:
            if deadline.finish():  # the deadline cut the connection
                raise refuse(f"{late}: {decoded:,} bytes in") from None
            raise
        finally:
            struck = deadline.finish()
        if struck:  # a close-delimited body cut by the deadline looks complete: it is not
            raise refuse(f"{late}: {decoded:,} bytes in")
        return b"".join(pieces)

    def close(self) -> None:
        self.session.close()
