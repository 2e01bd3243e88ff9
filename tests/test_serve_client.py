"""`flows.serve.api_client` against a real HTTP server on 127.0.0.1 that stalls or is busy:
read-only calls are asked again, a call that creates something is asked once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from flows.serve import api_client

STALL = 0.3  # the client's timeout in these tests, in seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: Counter[str] = Counter()
        self.stalls: dict[str, int] = {}  # path -> how many first calls stall
        self.busy: dict[str, int] = {}  # path -> how many first calls get a 503
        self.release = threading.Event()  # set at teardown: stalled handlers return
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        with self.server.lock:
            self.server.calls[self.path] += 1
            n = self.server.calls[self.path]
        if n <= self.server.stalls.get(self.path, 0):
            self.server.release.wait(30)  # past the client's timeout: it gives up on us
            return
        status = 503 if n <= self.server.busy.get(self.path, 0) else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    server = _Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _client(server: _Server) -> httpx.Client:
    return api_client(f"http://127.0.0.1:{server.server_port}/api", timeout=STALL)


@pytest.mark.parametrize(
    ("fault", "url"),
    [
        ("stalls", "/work_pools/nw/workers/filter"),  # a query: asked again after a timeout
        ("busy", "/deployments/d1/create_flow_run"),  # a 503 is waited out for any call
    ],
)
def test_a_stalled_query_or_a_busy_server_is_asked_again(
    server: _Server, fault: str, url: str
) -> None:
    getattr(server, fault)["/api" + url] = 2
    with _client(server) as client:
        assert client.post(url, json={}).status_code == 200
    assert server.calls["/api" + url] == 3


def test_a_stalled_get_gives_up_after_three_more_tries(server: _Server) -> None:
    path = "/api/health"
    server.stalls[path] = 10
    with _client(server) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/health")
    assert server.calls[path] == 4


def test_a_stalled_call_that_creates_is_not_asked_twice(server: _Server) -> None:
    path = "/api/deployments/d1/create_flow_run"
    server.stalls[path] = 1
    with _client(server) as client, pytest.raises(httpx.ReadTimeout):
        client.post("/deployments/d1/create_flow_run", json={})
    assert server.calls[path] == 1
