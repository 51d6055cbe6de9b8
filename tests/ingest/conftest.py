from __future__ import annotations

import psycopg
import pytest

from ingest.http import Endpoint
from ingest.store import empty_raw_layer


@pytest.fixture
def raw_db(warehouse):
    """The warehouse with an empty raw layer."""
    empty_raw_layer(warehouse)
    return warehouse


@pytest.fixture
def endpoint_for(sandbox, sandbox_credentials):
    """An Endpoint for a source's connection on a given sandbox server (default: the session one)."""

    def make(conn_id: str, server=None, password: str | None = None) -> Endpoint:
        agency = conn_id.removeprefix("ipkpi_")
        return Endpoint(conn_id, (server or sandbox).url, sandbox_credentials[agency] if password is None else password)

    return make


def query(dsn: str, statement: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()


@pytest.fixture
def static_server():
    """A tiny HTTP server answering every GET with the given body (bad payloads, on purpose), or with
    the body of ``by_path`` whose key the path contains."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def start(body: bytes, status: int = 200, by_path: dict[str, bytes] | None = None) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answer = next((b for key, b in (by_path or {}).items() if key in self.path), body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
