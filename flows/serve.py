"""`newswatch serve`: the deployments of `prefect.yaml`, on their schedules, on one machine.

Schedules need a Prefect server. When `PREFECT_API_URL` is not set, `api_server` starts a
local one (`prefect server start`: SQLite under PREFECT_HOME, on 127.0.0.1 and a free port),
waits for its health endpoint, and stops it, with everything it started, on exit (Ctrl-C or
SIGTERM). The deployments' names, entrypoints, parameters, schedules and concurrency limits
are read from `prefect.yaml`, the one place they are written; `prefect deploy --all` and a
worker of the `newswatch` pool run the same deployments on a shared server instead.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from newswatch.errors import ConfigError, NewswatchError

SERVER_BOOT_TIMEOUT = 120.0  # seconds; a cold start takes about 12 s on a busy 2-core machine


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """One deployment of prefect.yaml."""

    name: str
    entrypoint: str  # "flows/ingest.py:ingest", relative to the project folder
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: tuple[dict[str, Any], ...] = ()  # {"cron": ..., "timezone": ...}
    concurrency_limit: int | None = None


def read_deployments(path: Path) -> list[DeploymentSpec]:
    """The deployments of a prefect.yaml file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        fix = "run from the checkout, or give --project"
        raise ConfigError(str(path), f"cannot read: {exc.strerror}", fix=fix) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML: {exc}") from exc
    specs = []
    for item in doc.get("deployments") or []:
        if not item.get("name") or not item.get("entrypoint"):
            raise ConfigError(str(path), "a deployment without name or entrypoint")
        specs.append(
            DeploymentSpec(
                name=item["name"],
                entrypoint=item["entrypoint"],
                description=item.get("description") or "",
                parameters=item.get("parameters") or {},
                schedules=tuple(item.get("schedules") or ()),
                concurrency_limit=item.get("concurrency_limit"),
            )
        )
    if not specs:
        raise ConfigError(str(path), "no deployments")
    return specs


def to_deployment(
    spec: DeploymentSpec, given: Mapping[str, Any] | None = None, **overrides: Any
) -> Any:
    """A Prefect RunnerDeployment of `spec` (run from the project folder). `given`: parameter
    values (such as the CLI's --db) for the flows that take them, over prefect.yaml's;
    `overrides` are passed on (work_pool_name, job_variables, concurrency_limit, ...)."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron

    schedules = [Cron(s["cron"], timezone=s.get("timezone")) for s in spec.schedules]
    accepted = inspect.signature(load_flow_from_entrypoint(spec.entrypoint).fn).parameters
    parameters = spec.parameters | {k: v for k, v in (given or {}).items() if k in accepted}
    options: dict[str, Any] = {
        "description": spec.description,
        "parameters": parameters,
        "schedules": schedules,
        "concurrency_limit": spec.concurrency_limit,
    }
    return RunnerDeployment.from_entrypoint(spec.entrypoint, spec.name, **(options | overrides))


# --- a local Prefect server -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalServer:
    api_url: str  # http://127.0.0.1:PORT/api
    pid: int
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_server(home: Path, *, ui: bool = True) -> Iterator[LocalServer]:
    """Run `prefect server start` (SQLite under `home`) on 127.0.0.1 for the block."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true" if ui else "false",
    }
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped as a whole, spared the Ctrl-C
            preexec_fn=_die_with_parent,
        )
    server = LocalServer(f"http://127.0.0.1:{port}/api", process.pid, log_path)
    try:
        wait_healthy(server.api_url, process, log_path)
        yield server
    finally:
        stop_process_group(process)


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, ask for SIGTERM when the parent dies, even by
    SIGKILL, so that a killed `serve` leaves no server behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_healthy(
    api_url: str,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
    timeout: float = SERVER_BOOT_TIMEOUT,
) -> None:
    """Wait until the server answers its health endpoint; fail early when it died."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log else ""
                raise NewswatchError(f"the Prefect server exited at start:\n{tail}")
            try:
                if client.get(f"{api_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise NewswatchError(f"no Prefect server answered at {api_url} within {timeout:.0f} s")


def stop_process_group(process: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM to the process's group, SIGKILL if it is still there after `grace` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


# Prefect's queries that change nothing on the server are POSTs to paths ending so.
_QUERY_PATHS = ("/filter", "/count", "/paginate", "/history")
_TIMEOUT_RETRIES = 3  # each after the client's whole timeout: a stall, not a lost server


def _read_only(request: httpx.Request) -> bool:
    """Whether asking `request` twice is harmless: a GET, or one of Prefect's POST queries.
    A POST that creates something (a flow run) is never asked twice: it could make two."""
    if request.method == "GET":
        return True
    return request.method == "POST" and request.url.path.rstrip("/").endswith(_QUERY_PATHS)


class _RetryBusy(httpx.HTTPTransport):
    """A Prefect server on SQLite answers 503 while its database is busy, and may stall past
    the client's timeout on a busy machine: ask again (after a timeout, read-only calls only)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        stalls = 0
        for attempt in range(1, 20):
            try:
                response = super().handle_request(request)
            except httpx.TimeoutException:
                stalls += 1
                if stalls > _TIMEOUT_RETRIES or not _read_only(request):
                    raise
                continue
            if response.status_code != 503:
                return response
            response.close()
            time.sleep(min(2.0, 0.1 * attempt))
        return super().handle_request(request)


def api_client(api_url: str, timeout: float = 30.0) -> httpx.Client:
    """A client of the Prefect REST API at `api_url` that waits out a busy server."""
    return httpx.Client(base_url=api_url, timeout=timeout, transport=_RetryBusy(), trust_env=False)


@contextmanager
def api_server(home: Path, say: Any = print) -> Iterator[str]:
    """The API of the Prefect server named by PREFECT_API_URL, or of a local one for the
    block. Flow runs started from here get it from Prefect's settings, which its runner
    passes to each flow run's process (our environment is not written)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        say(f"serve: using the Prefect server at {configured}")
        wait_healthy(configured, timeout=30.0)
        yield configured
        return
    with local_server(home) as server:
        say(f"serve: Prefect server at {server.api_url} (pid {server.pid}, log {server.log})")
        try:
            with temporary_settings({PREFECT_API_URL: server.api_url}):
                yield server.api_url
        finally:
            say("serve: stopping the Prefect server")


def serve(project: Path, say: Any = print, given: Mapping[str, Any] | None = None) -> None:
    """Serve the deployments of `project`/prefect.yaml on their schedules until Ctrl-C or
    SIGTERM. Flow runs start in the project folder, as the deployments' pull step says.
    `given`: parameter values for the flows that take them (see `to_deployment`)."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_HOME

    specs = read_deployments(project / "prefect.yaml")
    os.chdir(project)
    # SIGTERM ends the serve loop like Ctrl-C does, so that the server is stopped too (the
    # runner's own SIGTERM handler exits cleanly but leaves this warning behind).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    warnings.filterwarnings("ignore", "coroutine 'Runner.astop' was never awaited", RuntimeWarning)
    with api_server(Path(PREFECT_HOME.value()), say):
        prefect_serve(*[to_deployment(spec, given) for spec in specs])


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
