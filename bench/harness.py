"""What every bench repeats, in one place: sizes on the command line, timing, the memory and CPU
of a process tree, loopback servers in a child process, the machine line, and the final table.

Every bench ends with `final_table`: one line per target, `name  value  target  PASS|FAIL`,
then the baseline it was measured against and the ratio. The README pastes that block as
printed, FAIL lines included. A value that cannot be measured (a size not run, a precision
with nothing predicted) is printed as such with `n/a`, never as a pass.

Benches import it as `from harness import ...`: a script's own folder is on `sys.path`, and
the processes they spawn inherit that path. Importing it puts the repository ahead of that
folder, so that a bench's `import pipeline` is the package, not bench/pipeline.py.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The repository ahead of bench/ (a script's own folder, first on the path when it is run):
# `pipeline` and `events` are the packages, not bench/pipeline.py and bench/events.py. Every
# bench imports this module before the project's packages.
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))
START_TIMEOUT_S = 300
STOP = ("stop", None)  # what a server child receives when the bench is done with it
SAMPLE_S = 0.1
TREE_SCAN_S = 1.0
PSS_EVERY = 3  # samples between two readings of the tree's proportional set size

T = TypeVar("T")


# --- the command line ----------------------------------------------------------------------


def size(text: str) -> int:
    """A size as people write it: 10000, 10,000, 10_000, 10k, 1M."""
    cleaned = text.replace(",", "").replace("_", "").strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if scale > 1 else cleaned
    try:
        return int(float(digits) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1000, 10k, 1M)") from None


def add_sizes(
    parser: argparse.ArgumentParser, flag: str, default: int | Sequence[int], what: str
) -> None:
    """`flag` takes one size (an int default) or several (a list default)."""
    several = not isinstance(default, int)
    shown = " ".join(f"{d:,}" for d in default) if several else f"{default:,}"  # type: ignore[union-attr]
    parser.add_argument(
        flag,
        type=size,
        nargs="+" if several else None,
        default=list(default) if several else default,  # type: ignore[arg-type]
        help=f"{what} (default {shown}; 10k, 1M accepted)",
    )


# --- timing ----------------------------------------------------------------------------------


def median_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The median wall seconds of `repeat` calls, and the last call's result."""
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def own_cpu() -> float:
    """User + system seconds of this process and of the children it has waited for."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- a process tree: memory and CPU ------------------------------------------------------------


def children_of() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (this kernel has no /proc/<pid>/task/<tid>/children)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    below, found, todo = children_of(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(below.get(pid, ()))
    return found


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def pss(pid: int) -> int:
    """Proportional set size: a page shared by n processes counts 1/n in each."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_of(pid: int, *, reaped: bool = True) -> float:
    """User + system seconds of a live process (and of the children it has reaped)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return sum(int(f) for f in fields[11 : 15 if reaped else 13]) / os.sysconf("SC_CLK_TCK")


def role(pid: int, root: int) -> str:
    """Which part of a run a process is, for the CPU and memory breakdown."""
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            command = fh.read()
    except OSError:
        return "other"
    if b"uvicorn" in command:
        return "prefect server"
    return "workers" if b"multiprocessing" in command else "other"


class TreeSampler:
    """Samples a process tree until stopped: the largest sum of its resident set sizes (workers
    included), the proportional set size at that moment (shared pages counted once), the
    largest proportional set size seen (`max_pss`, read every `PSS_EVERY` samples: what the
    tree really holds, a page shared by n processes counting 1/n in each), and the
    CPU seconds of each process last seen, summed by role. The tree is looked up once a second:
    scanning /proc costs a few ms, which the measured run would pay for."""

    def __init__(self, root: int) -> None:
        self.root, self.peak, self.peak_pss, self.max_pss = root, 0, 0, 0
        self.max_pss_by_role: dict[str, int] = {}
        self.peak_by_role: dict[str, int] = {}
        self._cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pids: list[int] = []
        rescan, samples = 0.0, 0
        while not self._stop.wait(SAMPLE_S):
            samples += 1
            if time.monotonic() >= rescan:
                pids, rescan = tree(self.root), time.monotonic() + TREE_SCAN_S
            by_role: dict[str, int] = {}
            for pid in pids:
                try:
                    cpu = cpu_of(pid, reaped=False)
                except OSError:
                    continue
                name = self._cpu[pid][0] if pid in self._cpu else role(pid, self.root)
                self._cpu[pid] = (name, cpu)
                by_role[name] = by_role.get(name, 0) + rss(pid)
            if sum(by_role.values()) > self.peak:
                self.peak, self.peak_by_role = sum(by_role.values()), by_role
                self.peak_pss = self._read_pss(pids)
            elif samples % PSS_EVERY == 0:
                self._read_pss(pids)

    def _read_pss(self, pids: list[int]) -> int:
        """The tree's proportional set size now; kept, by role, when the largest yet."""
        by_role: dict[str, int] = {}
        for pid in pids:
            name = self._cpu[pid][0] if pid in self._cpu else role(pid, self.root)
            by_role[name] = by_role.get(name, 0) + pss(pid)
        total = sum(by_role.values())
        if total > self.max_pss:
            self.max_pss, self.max_pss_by_role = total, by_role
        return total

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak

    def cpu_by_role(self) -> dict[str, float]:
        roles: dict[str, float] = {}
        for name, cpu in self._cpu.values():
            roles[name] = roles.get(name, 0.0) + cpu
        return roles


def mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f}"


# --- servers in a child process -------------------------------------------------------------


@contextmanager
def child_server(target: Callable[..., None], *args: Any) -> Iterator[tuple[Connection, Any, int]]:
    """Run `target(conn, *args)` in a spawned child until the block ends: its first message
    (where it serves) is handed over with the parent's end of the pipe and the child's pid.
    The child serves until it receives `STOP`; a child still alive 10 s later is terminated.
    Servers run apart so that their CPU time is not charged to what is measured."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    try:
        if not parent.poll(START_TIMEOUT_S):
            raise RuntimeError(f"the bench servers did not start in {START_TIMEOUT_S} s")
        ready = parent.recv()
        assert process.pid is not None
        yield parent, ready, process.pid
    finally:
        if process.is_alive():
            with suppress(OSError):
                parent.send(STOP)
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()


# --- records ----------------------------------------------------------------------------------


def summed(a: T, b: T) -> T:
    """Two dataclass instances of counts, added field by field."""
    return type(a)(*(x + y for x, y in zip(astuple(a), astuple(b), strict=True)))  # type: ignore[arg-type]


class Summable:
    """Mixed into a dataclass of counts: `a + b` adds them field by field."""

    __slots__ = ()

    def __add__(self: T, other: T) -> T:
        return summed(self, other)


def corpus_missing(path: Path) -> bool:
    """True, after saying so, when the shared corpus a bench reads is not beside the repo: the
    bench then exits 0 without measuring anything."""
    if path.exists():
        return False
    print(f"skipped: no corpus at {path} (the shared corpus sits beside the repo, ../shared)")
    return True


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    """The date and the machine, for pasting a table."""
    import duckdb
    import trafilatura

    info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB;"
        f" Python {platform.python_version()}, duckdb {duckdb.__version__},"
        f" trafilatura {trafilatura.__version__}"
    )


@dataclass(frozen=True, slots=True)
class Target:
    """One claim: its measured value as printed, the bound as printed, and the verdict
    (None: the value is undefined or was not measured, which is not a pass). An `info` line
    is printed in the table for reference and judged by nothing."""

    name: str
    value: str
    target: str
    ok: bool | None
    info: bool = False

    @property
    def verdict(self) -> str:
        if self.info:
            return "info"
        return "n/a" if self.ok is None else ("PASS" if self.ok else "FAIL")


def at_least(name: str, value: float | None, bound: float, fmt: str = "{:.2f}") -> Target:
    shown = "n/a" if value is None else fmt.format(value)
    return Target(name, shown, ">= " + fmt.format(bound), None if value is None else value >= bound)


def below(name: str, value: float | None, bound: float, fmt: str = "{:.2f}") -> Target:
    shown = "n/a" if value is None else fmt.format(value)
    return Target(name, shown, "< " + fmt.format(bound), None if value is None else value < bound)


def at_most(name: str, value: float | None, bound: float, fmt: str = "{:.2f}") -> Target:
    shown = "n/a" if value is None else fmt.format(value)
    return Target(name, shown, "<= " + fmt.format(bound), None if value is None else value <= bound)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def final_table(title: str, targets: Sequence[Target], baseline: Sequence[str] = ()) -> bool:
    """Print the final table; True when every target passed (an n/a line is not a pass)."""
    rows = [("target", "value", "bound", "verdict")] + [
        (t.name, t.value, t.target, t.verdict) for t in targets
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"\nfinal table: {title}")
    for row in rows:
        print(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    for line in baseline:
        print(f"  {line}")
    return all(t.ok for t in targets if not t.info)
