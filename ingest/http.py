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

Requests go through urllib3 directly, with the same retry policy (urllib3's ``Retry``), the
headers, proxies, CA bundle and .netrc requests would use (resolved once per client, by requests),
and requests' URL encoding: the requests layer cost twice urllib3's own CPU per request (≈ 0.5 ms
of a page of 100 AMR cases: preparing, hooks, cookies, redirects), and an AMR year at ×100 is
≈ 4,300 pages.
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
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError
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

    def __init__(self, streamed: urllib3.BaseHTTPResponse, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._lock = threading.Lock()
        self._sock = getattr(getattr(streamed, "connection", None), "sock", None)
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
    0.4 ms, a quarter of a small request). Finished reads leave the heap once at its top. The thread
    is woken only for a deadline earlier than the one it waits for: reads that take turns on one
    connection (their deadlines in order) do not wake it each time (a wake-up per request cost a
    thread switch and the GIL handed over, ≈ 4 % of an AMR month)."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked task starts its own thread

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at = float("inf")  # when the thread wakes by itself (inf: only when notified)

    def watch(self, deadline: _Deadline) -> None:
        with self._cond:
            while self._heap and self._heap[0][2].done:  # reads finished since: their entries go
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ipkpi-body-deadlines", daemon=True)
                self._thread.start()
            elif deadline.at < self._wakes_at:  # earlier than the thread would look: wake it to wait less
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._wakes_at = float("inf")
                        self._cond.wait()
                        continue
                    self._wakes_at = self._heap[0][0]
                    wait = self._wakes_at - time.monotonic()
                    if wait <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            due.strike()


_WATCHDOG = _Watchdog()


class FeedClient:
    """An HTTP client for one feed (a urllib3 pool: keep-alive, thread-safe), with the shared retry
    policy and bounds."""

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
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.limits = limits or Limits.from_env()
        self.retry = Retry(
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
        # what requests would send and where it would go, read once for the feed's one host: the
        # environment's proxies (NO_PROXY applied), CA bundle and .netrc, and its default headers
        session = requests.Session()
        environment = session.merge_environment_settings(endpoint.host, {}, None, None, None)
        self.netrc = requests.utils.get_netrc_auth(endpoint.host) if endpoint.host else None
        self.headers = dict(requests.utils.default_headers())
        session.close()
        verify = environment["verify"]  # True (requests' CA bundle), False, or a bundle's file or folder
        if verify is False:
            tls = {"cert_reqs": "CERT_NONE"}
        else:
            bundle = requests.certs.where() if verify is True else verify
            tls = {"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle}
        proxy = requests.utils.select_proxy(endpoint.host, environment["proxies"])
        self.pool = (
            urllib3.ProxyManager(proxy, num_pools=4, maxsize=4, **tls)
            if proxy
            else urllib3.PoolManager(num_pools=4, maxsize=4, **tls)
        )

    def url(self, path: str, params: dict | None = None) -> str:
        """``host + path`` with the query encoded as requests encodes it (the archived URL)."""
        url = self.endpoint.host + path
        if params:
            query = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
            url = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
        return requests.utils.requote_uri(url)

    def get(
        self, path: str, *, source: str, period: str, params: dict | None = None, headers: dict | None = None, auth=None
    ) -> Reply:
        """GET ``host + path`` for a source's period. Raises AuthError on 401/403, TransientError
        when retries run out, FeedError when the body passes a bound (:mod:`ingest.limits`)."""
        url = self.url(path, params)
        what = f"{source} {period}"
        sent = {**self.headers, **(headers or {})}
        auth = auth or (None if "Authorization" in sent else self.netrc)  # .netrc: as requests, only without auth
        if auth:
            user, password = auth
            sent["Authorization"] = "Basic " + b64encode(f"{user}:{password}".encode("latin1")).decode("ascii")
        try:
            streamed = self.pool.urlopen(
                "GET", url, headers=sent, retries=self.retry, timeout=self.timeout, preload_content=False
            )
            complete = False
            try:
                final = url
                for step in streamed.retries.history if streamed.retries else ():
                    if step.redirect_location:
                        final = urljoin(final, step.redirect_location)
                response = Reply(streamed.status, final, streamed.headers, self._body(streamed, final, source, period))
                complete = True
            finally:
                if not complete:  # not read to its end: the connection cannot serve another request
                    streamed.close()
                streamed.release_conn()
        except Urllib3Error as exc:
            failure = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
            raise TransientError(
                f"{what}: request failed after retries: {type(failure).__name__} ({public_url(url)})"
            ) from None
        shown = public_url(response.url)
        if response.status_code in (401, 403):
            raise AuthError(
                f"{what}: HTTP {response.status_code} from {shown}: check the credential of Airflow "
                f"connection '{self.endpoint.conn_id}' (AIRFLOW_CONN_{self.endpoint.conn_id.upper()})"
            )
        if response.status_code in TRANSIENT_STATUSES:
            raise TransientError(f"{what}: HTTP {response.status_code} after retries ({shown})")
        return response

    def _body(self, streamed: urllib3.BaseHTTPResponse, url: str, source: str, period: str) -> bytes:
        """The body, read in BODY_PIECE pieces within the payload cap and the deadline."""
        limits = self.limits
        cap = limits.max_payload_bytes

        def refuse(reason: str) -> FeedError:
            return FeedError(source, period, public_url(url), reason)

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
            for piece in streamed.stream(BODY_PIECE, decode_content=True):  # gzip/deflate undone a piece at a time
                decoded += len(piece)
                if decoded > cap:
                    raise refuse(f"body {over}: stopped after {decoded:,} bytes decoded")
                if streamed.tell() > cap:
                    raise refuse(f"body {over}: stopped after {streamed.tell():,} bytes received")
                if deadline.passed():
                    raise refuse(f"{late}: {decoded:,} bytes in")
                pieces.append(piece)
        except Urllib3Error:
            if deadline.finish():  # the deadline cut the connection
                raise refuse(f"{late}: {decoded:,} bytes in") from None
            raise
        finally:
            struck = deadline.finish()
        if struck:  # a close-delimited body cut by the deadline looks complete: it is not
            raise refuse(f"{late}: {decoded:,} bytes in")
        return b"".join(pieces)

    def close(self) -> None:
        self.pool.clear()
