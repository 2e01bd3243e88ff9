"""A loopback HTTP server for an offline snapshot of feeds and pages (the demo, the tests).

It serves a folder: URL path `/X` is file `X`, else `X.html`, else `X/index.html`. The snapshot's
files name their own base URL (`http://127.0.0.1:8765`); when the server runs on another port it
rewrites that base in the text it serves, so links in feeds point back at it.
"""

from __future__ import annotations

import contextlib
import mimetypes
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

SNAPSHOT_BASE = "http://127.0.0.1:8765"
_TEXT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class SnapshotHandler(BaseHTTPRequestHandler):
    """Serves files of `server.root`; subclass and override `route` to add special answers."""

    server: SnapshotServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if not self.route(path):
            self.serve_file(path)

    def route(self, path: str) -> bool:
        """Answer `path` specially and return True, or return False to serve a file."""
        return False

    def serve_file(self, path: str) -> None:
        file = self.server.find(path)
        if file is None:
            self.send_body(404, b"not found\n", "text/plain")
            return
        body = file.read_bytes()
        content_type = _TEXT_TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        if file.suffix in _TEXT_TYPES and self.server.base != SNAPSHOT_BASE:
            body = body.replace(SNAPSHOT_BASE.encode(), self.server.base.encode())
        self.send_body(200, body, content_type)

    def send_body(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        # The client may have given up (a timeout test, a cancelled fetch): nothing to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests and demo
        return


class SnapshotServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int, handler: type[SnapshotHandler]) -> None:
        self.root = root.resolve()
        super().__init__(("127.0.0.1", port), handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing a kept-alive connection is normal; anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def host_port(self) -> str:
        return self.base.removeprefix("http://")

    def find(self, path: str) -> Path | None:
        relative = path.lstrip("/")
        for candidate in (relative, f"{relative}.html", f"{relative}/index.html"):
            file = (self.root / candidate).resolve()
            if file.is_file() and file.is_relative_to(self.root):
                return file
        return None


@contextmanager
def serve_snapshot(
    root: Path,
    port: int = 0,
    handler: type[SnapshotHandler] = SnapshotHandler,
    *,
    any_port_if_taken: bool = False,
) -> Iterator[SnapshotServer]:
    """Serve `root` on 127.0.0.1 (port 0: any free one) until the block ends."""
    try:
        server = SnapshotServer(root, port, handler)
    except OSError:
        if not any_port_if_taken:
            raise
        server = SnapshotServer(root, 0, handler)  # links are rewritten to the new port
    thread = threading.Thread(target=server.serve_forever, name="snapshot-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def rebase_file(src: Path, dst: Path, base: str) -> Path:
    """Copy a snapshot text file (such as its feeds.yaml) to `dst`, aimed at `base`."""
    text = src.read_text(encoding="utf-8").replace(SNAPSHOT_BASE, base)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")
    return dst
