"""A tripwire under every test: no socket reaches any address but 127.0.0.1.

Python raises an audit event before each socket connect, send and name lookup; this hook
refuses (with an OSError, before any packet leaves) a connect or send to any other address and
a lookup of any name but localhost (a lookup may send a DNS query), and records it. The test
session fails when anything was recorded (see conftest.py), so "nothing is ever sent anywhere
else" is checked for the whole suite, code under test and libraries alike, not just trusted.

Child processes the tests start (an ingest killed mid-run, the fault bench) run under it too:
`python -m tests.netguard -m newswatch ingest ...` installs the hook and then runs the module;
violations go to the file named by the NETGUARD_LOG variable.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import runpy
import socket
import sys
from typing import Any

LOOPBACK = "127.0.0.1"
_LOCAL_NAMES = {None, "", "localhost", b"localhost"}

violations: list[str] = []
_installed = False


def _refuse(what: str, error: OSError) -> None:
    violations.append(what)
    log = os.environ.get("NETGUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(what + "\n")
    raise error


def _is_inet(sock: Any) -> bool:
    return getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6)


def _check_address(event: str, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) and address else address
    if host != LOOPBACK:
        _refuse(
            f"{event} to {address!r}",
            OSError(errno.ENETUNREACH, f"netguard: no traffic to {address!r} in tests"),
        )


def _check_lookup(host: Any) -> None:
    if host in _LOCAL_NAMES:
        return
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%")[0])
        return  # a literal address is not looked up: no packet
    except ValueError:
        pass
    try:
        socket.inet_aton(text)  # "127.1", "2130706433": numeric forms libc reads without DNS
        return
    except OSError:
        pass
    _refuse(
        f"name lookup of {text!r}",
        socket.gaierror(socket.EAI_NONAME, f"netguard: no name lookups ({text!r}) in tests"),
    )


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    if event == "socket.connect" or event == "socket.sendto":
        if _is_inet(args[0]):
            _check_address(event, args[1])
    elif event == "socket.sendmsg":
        if _is_inet(args[0]) and len(args) > 1 and args[1] is not None:
            _check_address(event, args[1])
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        _check_lookup(args[0])


def install() -> None:
    """Install the hook once per process (audit hooks cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def main(argv: list[str]) -> None:
    """`-m module args...`: run the module as __main__ under the hook."""
    install()
    if len(argv) < 2 or argv[0] != "-m":
        raise SystemExit("usage: python -m tests.netguard -m MODULE [ARGS...]")
    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
