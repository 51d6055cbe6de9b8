"""A recording HTTP proxy in front of the sandbox, so a benchmark times the pipeline, not the
sandbox generating its data.

The sandbox builds each month's data when first asked and keeps only a few months in its caches
(sandbox/dataset/common.py LRU), so a 96-month run at ×100 would make it generate again while the
pipeline waits. Here every response the pipeline will ask for is fetched once through the proxy
beforehand (`record`, untimed), kept on disk, and served from there during the timed run; a
request not recorded (or conditional: If-None-Match / If-Modified-Since) goes to the sandbox live
and is counted as a miss, so the benchmark can say how much of its time the sandbox still had.
Only 200 answers are recorded: an error or a retry-after is never replayed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
    "date",
    "server",
}
CONDITIONAL = ("if-none-match", "if-modified-since")


class ReplayProxy:
    def __init__(self, upstream: str, store: Path):
        self.upstream = urlsplit(upstream)
        self.store = store
        store.mkdir(parents=True, exist_ok=True)
        self.recording = True
        self.hits = self.misses = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK hold every response ≈ 40 ms (measured: a paged feed's 8,600 pages
            # took minutes longer through the proxy than the pipeline's own work)
            disable_nagle_algorithm = True

            def do_GET(self):
                proxy.handle(self)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.local = threading.local()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _paths(self, target: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(target.encode()).hexdigest()
        return self.store / f"{digest}.json", self.store / f"{digest}.body"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        meta_path, body_path = self._paths(request.path)
        conditional = any(request.headers.get(h) for h in CONDITIONAL)
        if not conditional and meta_path.exists():  # recorded (in this run, or an earlier one's store)
            if not self.recording:
                with self.lock:
                    self.hits += 1
            meta = json.loads(meta_path.read_text())
            self._answer(request, meta["status"], meta["headers"], body_path.read_bytes())
            return
        if not self.recording:
            with self.lock:
                self.misses += 1
        status, headers, body = self._forward(request)
        if self.recording and status == 200 and not conditional:
            body_path.write_bytes(body)
            meta_path.write_text(json.dumps({"status": status, "headers": headers}))
        self._answer(request, status, headers, body)

    def _forward(self, request: BaseHTTPRequestHandler) -> tuple[int, list, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=600)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
        try:
            conn.request("GET", request.path, headers=headers)
            response = conn.getresponse()
        except (http.client.HTTPException, OSError):  # a dropped keep-alive: once more on a new connection
            conn.close()
            conn = self.local.conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=600)
            conn.request("GET", request.path, headers=headers)
            response = conn.getresponse()
        body = response.read()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        return response.status, kept, body

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, headers: list, body: bytes) -> None:
        request.send_response(status)
        for key, value in headers:
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
