"""Hostile answers (opt-in, ``SandboxConfig(hostile=...)``): bodies a client must bound.

Only the *body* modes live here (what a 200 answer's bytes become); the paging modes change the
court and AMR handlers in ``server.py``. Every bomb is built once per (size, content) and kept,
so a test that asks for it many times pays once. Nothing here runs unless a mode is on.
"""

from __future__ import annotations

import functools
import gzip
import io
import zipfile

from .server import Response

PIECE = 1 << 16
BODY_MODES = ("huge_body", "unbounded_body", "gzip_bomb", "trickle")


def filler(body: bytes, size: int):
    """``size`` bytes: the real body repeated (a plausible, endless export), in pieces."""
    unit = (body or b"x") * max(1, PIECE // max(1, len(body or b"x")))
    sent = 0
    while sent < size:
        piece = unit[: size - sent]
        sent += len(piece)
        yield piece


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about 1000:1)."""
    out = io.BytesIO()
    zeros = bytes(1 << 20)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as gz:
        left = size
        while left > 0:
            gz.write(zeros[: min(left, len(zeros))])
            left -= len(zeros)
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def zip_bomb(workbook: bytes, size: int) -> bytes:
    """The workbook with its first worksheet padded, by an XML comment after the declaration, to
    about ``size`` bytes: still a valid workbook; its central directory declares the true sizes."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                head, sep, rest = data.partition(b"?>")
                if not sep:
                    head, rest = b"", data
                pad = b"<!--" + b"A" * max(0, size - len(data) - 7) + b"-->"
                data = head + sep + pad + rest
            bomb.writestr(info.filename, data)
    return out.getvalue()


def hostile_body(mode: str, resp: Response, cfg) -> Response:
    """A 200 answer's body made hostile by ``mode`` (one of BODY_MODES)."""
    headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
    if mode == "huge_body":
        headers["Content-Length"] = str(cfg.hostile_size)
        return Response(200, b"", headers, chunks=filler(resp.body, cfg.hostile_size))
    if mode == "unbounded_body":
        headers["Connection"] = "close"  # no length: the body ends when the connection does
        return Response(200, b"", headers, chunks=filler(resp.body, cfg.hostile_size))
    if mode == "gzip_bomb":
        body = gzip_bomb(cfg.hostile_size)
        headers.update({"Content-Encoding": "gzip", "Content-Length": str(len(body))})
        return Response(200, b"", headers, chunks=iter((body,)))
    if mode == "trickle":
        headers["Content-Length"] = str(len(resp.body))
        return Response(
            200, b"", headers, chunks=(resp.body[i : i + 1] for i in range(len(resp.body))), delay=cfg.trickle_interval
        )
    raise ValueError(f"not a body mode: {mode}")
