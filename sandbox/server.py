"""The agency sandbox HTTP server: all five feeds on one port, one route table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterable, List, Optional
from urllib.parse import parse_qs, urlsplit

from .config import AGENCIES, SandboxConfig
from .dataset import Dataset
from .dataset.amr import served_json as amr_served_json
from .faults import FaultInjector
from .timeutil import FIRST_YM, LAST_YM, http_date, parse_http_date, parse_iso, ym, ym_parse


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: object
    match: Optional[re.Match] = None
    short_page: bool = False

    def q(self, name: str) -> Optional[str]:
        v = self.query.get(name)
        return v[0] if v else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: Dict[str, str] = field(default_factory=dict)
    # hostile mode only (sandbox/hostile.py): the body sent piece by piece instead of ``body``, each
    # piece after ``delay`` seconds; the headers say the length, or nothing (the connection closes)
    chunks: Optional[Iterable[bytes]] = None
    delay: float = 0.0


def json_response(status: int, obj, headers=None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    return Response(status, body, h)


def error(status: int, message: str, headers=None) -> Response:
    return json_response(status, {"error": message}, headers)


class App:
    """Routing, auth and content; independent of the socket layer."""

    def __init__(self, cfg: SandboxConfig, dataset: Optional[Dataset] = None):
        missing = [a for a in AGENCIES if not cfg.credentials.get(a)]
        if missing:
            raise ValueError(f"no credential configured for {missing}")
        self.cfg = cfg
        self.as_of = cfg.as_of_dt
        self.ds = dataset or Dataset.from_config(cfg)
        self.faults = FaultInjector(cfg.fault_rate, cfg.fault_kinds, cfg.fault_seed)
        # (regex, handler, agency, fault kinds that apply)
        transient = ("429", "500", "502", "503", "reset", "timeout")
        self.routes = [
            (re.compile(r"^/reports/ipr-seizures/(\d{4})/(\d{2})\.xlsx$"), self.customs, "customs", transient),
            (re.compile(r"^/open/ip-pledge/(\d{4})-(\d{2})\.csv$"), self.finance, "finance", transient),
            (re.compile(r"^/exports/ipr_crime_(\d{4})(\d{2})\.csv$"), self.police, "police", transient),
            (re.compile(r"^/v1/ip-cases$"), self.court, "court", transient + ("short_page",)),
            (re.compile(r"^/api/v2/enforcement/cases$"), self.amr_cases, "amr", transient),
            (re.compile(r"^/api/v2/statistics$"), self.amr_statistics, "amr", transient),
        ]
        self._cursor_key = hashlib.sha256(f"{cfg.seed}|{cfg.credentials['amr']}|cursor".encode()).digest()

    # ------------------------------------------------------------------ auth helpers
    def _secret(self, agency: str) -> str:
        return self.cfg.credentials[agency]

    def check_header_key(self, req: Request, header: str, agency: str) -> Optional[Response]:
        given = req.headers.get(header)
        if not given:
            return error(401, f"missing {header}")
        if not hmac.compare_digest(given.encode("utf-8"), self._secret(agency).encode("utf-8")):
            return error(403, "invalid credential")
        return None

    def check_basic(self, req: Request, agency: str, user: str) -> Optional[Response]:
        challenge = {"WWW-Authenticate": 'Basic realm="ipkpi", charset="UTF-8"'}
        auth = req.headers.get("Authorization")
        if not auth:
            return error(401, "authentication required", challenge)
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return error(401, "basic authentication required", challenge)
        try:
            login, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return error(401, "malformed credentials", challenge)
        ok_user = hmac.compare_digest(login.encode("utf-8"), user.encode("utf-8"))
        ok_pw = hmac.compare_digest(password.encode("utf-8"), self._secret(agency).encode("utf-8"))
        if not (ok_user and ok_pw):
            return error(403, "invalid credential")
        return None

    def check_token_param(self, req: Request, name: str, agency: str) -> Optional[Response]:
        given = req.q(name)
        if not given:
            return error(401, f"missing {name}")
        if not hmac.compare_digest(given.encode("utf-8"), self._secret(agency).encode("utf-8")):
            return error(403, "invalid credential")
        return None

    @staticmethod
    def file_response(req: Request, body: bytes, published_at, content_type: str, filename: str) -> Response:
        """200 with ETag / Last-Modified, or 304 for a matching If-None-Match / If-Modified-Since."""
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        headers = {"ETag": etag, "Last-Modified": http_date(published_at), "Cache-Control": "no-cache"}
        inm = req.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            if "*" in tags or any(t.removeprefix("W/") == etag for t in tags):
                return Response(304, b"", headers)
        else:
            ims = req.headers.get("If-Modified-Since")
            if ims:
                since = parse_http_date(ims)
                if since is not None and published_at.replace(microsecond=0) <= since:
                    return Response(304, b"", headers)
        headers["Content-Type"] = content_type
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return Response(200, body, headers)

    # ------------------------------------------------------------------ finance
    def finance(self, req: Request) -> Response:
        denied = self.check_token_param(req, "access_token", "finance")
        if denied:
            return denied
        y, m = int(req.match.group(1)), int(req.match.group(2))
        if not 1 <= m <= 12:
            return error(404, "no such file")
        found = self.ds.finance_file(ym(y, m), self.as_of)
        if found is None:
            return error(404, "not published")
        return self.file_response(req, found[0], found[1], "text/csv; charset=utf-8", f"{y:04d}-{m:02d}.csv")

    # ------------------------------------------------------------------ police
    def police(self, req: Request) -> Response:
        denied = self.check_basic(req, "police", self.cfg.police_user)
        if denied:
            return denied
        y, m = int(req.match.group(1)), int(req.match.group(2))
        if not 1 <= m <= 12:
            return error(404, "no such file")
        found = self.ds.police_file(ym(y, m), self.as_of)
        if found is None:
            return error(404, "not published")
        return self.file_response(req, found[0], found[1], "text/csv; charset=GBK", f"ipr_crime_{y:04d}{m:02d}.csv")

    # ------------------------------------------------------------------ courts
    def check_bearer(self, req: Request, agency: str) -> Optional[Response]:
        auth = req.headers.get("Authorization")
        challenge = {"WWW-Authenticate": 'Bearer realm="ipkpi"'}
        if not auth:
            return error(401, "missing bearer token", challenge)
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(401, "bearer token required", challenge)
        if not hmac.compare_digest(token.strip().encode("utf-8"), self._secret(agency).encode("utf-8")):
            return error(403, "invalid credential")
        return None

    def court(self, req: Request) -> Response:
        denied = self.check_bearer(req, "court")
        if denied:
            return denied
        raw_since, raw_before = req.q("updated_since"), req.q("updated_before")
        if not raw_since or not raw_before:
            return error(400, "updated_since and updated_before are required")
        try:
            since, before = parse_iso(raw_since), parse_iso(raw_before)
        except ValueError:
            return error(400, "updated_since / updated_before must be ISO-8601 timestamps with offset (send + as %2B)")
        try:
            page = int(req.q("page") or 1)
            page_size = int(req.q("page_size") or 100)
        except ValueError:
            return error(400, "page and page_size must be integers")
        if page < 1 or page_size < 1:
            return error(400, "page and page_size start at 1")
        if page_size > 500:
            return error(400, "page_size must not exceed 500")
        served = self.ds.court.served_json(since, before, self.as_of)  # rendered once per window
        total = len(served)
        start = (page - 1) * page_size
        chunk = served[start : start + page_size]
        if served and self.cfg.hostile_to("huge_total", "court"):  # hostile: a total no window holds, pages for ever
            total = self.cfg.hostile_total
            chunk = [served[(start + k) % len(served)] for k in range(page_size)]
        if req.short_page and len(chunk) == page_size and start + page_size < total:
            chunk = chunk[
                : max(0, page_size - 1 - int(hashlib.sha1(req.path.encode() + str(page).encode()).digest()[0]) % 3)
            ]
        body = b'{"total":%d,"page":%d,"page_size":%d,"data":[%b]}' % (total, page, page_size, b",".join(chunk))
        return Response(200, body, {"Content-Type": "application/json; charset=utf-8"})

    # ------------------------------------------------------------------ AMR
    AMR_PAGE = 100

    def _cursor(self, month: str, offset: int) -> str:
        msg = f"{month}:{offset}"
        sig = hmac.new(self._cursor_key, msg.encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{msg}:{sig}".encode()).decode().rstrip("=")

    def _read_cursor(self, cursor: str, month: str) -> Optional[int]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
            m, off, sig = raw.split(":")
            offset = int(off)
        except (ValueError, UnicodeDecodeError):
            return None
        good = hmac.new(self._cursor_key, f"{m}:{off}".encode(), hashlib.sha256).hexdigest()[:16]
        if m != month or not hmac.compare_digest(sig, good) or offset < 0:
            return None
        return offset

    def amr_cases(self, req: Request) -> Response:
        denied = self.check_header_key(req, "X-Api-Key", "amr")
        if denied:
            return denied
        month = req.q("month")
        try:
            i = ym_parse(month or "")
        except ValueError:
            return error(400, "month must be YYYY-MM")
        cursor = req.q("cursor")
        offset = 0
        if cursor is not None:
            offset = self._read_cursor(cursor, month)
            if offset is None:
                return error(400, "invalid cursor for this month")
        items = amr_served_json(self.ds.amr, i, self.as_of) if FIRST_YM <= i <= LAST_YM else []
        chunk = items[offset : offset + self.AMR_PAGE]
        nxt = self._cursor(month, offset + self.AMR_PAGE) if offset + self.AMR_PAGE < len(items) else None
        endless = self.cfg.hostile_to("endless_pages", "amr")
        looping = self.cfg.hostile_to("repeated_cursor", "amr")
        if items and (endless or looping):  # hostile: full pages for ever, fresh cursors or page 2's again
            chunk = [items[(offset + k) % len(items)] for k in range(self.AMR_PAGE)]
            nxt = self._cursor(month, offset + self.AMR_PAGE if endless else self.AMR_PAGE)
        body = b'{"items":[' + b",".join(chunk) + b'],"next_cursor":' + json.dumps(nxt).encode() + b"}"
        return Response(200, body, {"Content-Type": "application/json; charset=utf-8"})

    def amr_statistics(self, req: Request) -> Response:
        denied = self.check_header_key(req, "X-Api-Key", "amr")
        if denied:
            return denied
        try:
            i = ym_parse(req.q("period") or "")
        except ValueError:
            return error(400, "period must be YYYY-MM")
        doc = self.ds.stats.document_at(i, self.as_of) if FIRST_YM <= i <= LAST_YM else None
        if doc is None:
            return error(404, "not published")
        return json_response(200, doc.to_json())

    # ------------------------------------------------------------------ customs
    def customs(self, req: Request) -> Response:
        denied = self.check_header_key(req, "X-Access-Key", "customs")
        if denied:
            return denied
        y, m = int(req.match.group(1)), int(req.match.group(2))
        if not 1 <= m <= 12:
            return error(404, "no such workbook")
        found = self.ds.customs_workbook(ym(y, m), self.as_of)
        if found is None:
            return error(404, "not published")
        body, published_at = found
        if self.cfg.hostile_to("zip_bomb", "customs"):
            from .hostile import zip_bomb

            body = zip_bomb(body, self.cfg.hostile_size)
        return self.file_response(
            req,
            body,
            published_at,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{y:04d}{m:02d}.xlsx",
        )

    # ------------------------------------------------------------------ dispatch
    def route(self, path: str):
        for rx, handler, agency, kinds in self.routes:
            mt = rx.match(path)
            if mt:
                return mt, handler, agency, kinds
        return None


def _fault_key(path: str, query: Dict[str, List[str]]) -> str:
    items = sorted((k, v) for k, vs in query.items() if k != "access_token" for v in vs)
    return path + "?" + "&".join(f"{k}={v}" for k, v in items)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms delayed-ACK stalls on keep-alive
    wbufsize = 1 << 16  # headers and body leave in one write
    server_version = "ipkpi-sandbox/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet unless asked
        if getattr(self.server, "verbose", False):
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def do_HEAD(self):
        self._handle(head=True)

    def do_GET(self):
        self._handle(head=False)

    def do_POST(self):
        self._send(error(405, "method not allowed", {"Allow": "GET"}), False)

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _handle(self, head: bool):
        app: App = self.server.app
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path == "/_sandbox/health":
            self._send(json_response(200, {"status": "ok", "as_of": app.cfg.as_of_dt.isoformat()}), head)
            return
        found = app.route(parts.path)
        if found is None:
            self._send(error(404, "no such resource"), head)
            return
        mt, handler, agency, kinds = found
        req = Request(self.command, parts.path, query, self.headers, mt)
        fault = app.faults.decide(_fault_key(parts.path, query), kinds)
        if fault in ("429", "500", "502", "503"):
            status = int(fault)
            hdrs = {"Retry-After": str(app.cfg.retry_after)} if status == 429 else {}
            msg = {
                429: "too many requests",
                500: "internal server error",
                502: "bad gateway",
                503: "service unavailable",
            }[status]
            self._send(error(status, msg, hdrs), head)
            return
        if fault == "reset":
            self._reset()
            return
        if fault == "timeout":
            time.sleep(app.cfg.timeout_delay)
        if fault == "short_page":
            req.short_page = True
        try:
            resp = handler(req)
        except Exception as exc:  # a bug must not kill the server
            import traceback

            traceback.print_exc()
            resp = error(500, f"sandbox error: {type(exc).__name__}")
        if app.cfg.hostile and resp.status == 200:
            from .hostile import BODY_MODES, hostile_body

            mode = next((m for m in BODY_MODES if app.cfg.hostile_to(m, agency)), None)
            if mode:
                resp = hostile_body(mode, resp, app.cfg)
        self._send(resp, head)

    def _reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _send(self, resp: Response, head: bool):
        if resp.chunks is not None:
            self._send_chunks(resp, head)
            return
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if resp.status != 304:
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if not head and resp.status != 304:
                self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send_chunks(self, resp: Response, head: bool):
        """A hostile body: piece by piece, each after ``resp.delay``, until done or the client leaves."""
        self.close_connection = True  # a client that gives up mid-body leaves the connection unusable
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.flush()
            if head:
                return
            for piece in resp.chunks:
                if resp.delay:
                    time.sleep(resp.delay)
                self.wfile.write(piece)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.wfile = io.BytesIO()  # the client left (as it should): the handler's last flush goes nowhere


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SandboxServer:
    """A running sandbox: .port, .url, .stop()."""

    def __init__(
        self, host: str, port: int, cfg: SandboxConfig, dataset: Optional[Dataset] = None, verbose: bool = False
    ):
        self.app = App(cfg, dataset)
        self.config = cfg
        self.dataset = self.app.ds
        self._httpd = _Server((host, port), Handler)
        self._httpd.app = self.app
        self._httpd.verbose = verbose
        self.host = host
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"sandbox-{self.port}", daemon=True
        )

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def set_clock(self, as_of) -> None:
        """Move the simulation clock (ISO text or aware datetime): from the next request on, the
        agencies answer as at that instant. For replays that step the schedule in lock-step."""
        self.config.as_of = as_of
        self.app.as_of = self.config.as_of_dt

    def serve_forever(self):
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(
    host: str, port: int, cfg: SandboxConfig, dataset: Optional[Dataset] = None, verbose: bool = False
) -> SandboxServer:
    """Start the sandbox in a daemon thread and return it (port 0 picks a free port)."""
    return SandboxServer(host, port, cfg, dataset, verbose).start()
