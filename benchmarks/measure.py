"""Measuring a piece of work: wall time and peak memory, in a fresh child process.

Each measured run is a spawned Python process (nothing inherited from the parent's memory), so its peak
resident set size is the run's own. A sampling thread reads the resident set size every few milliseconds so
that a run can also attribute a peak to each of its parts (``cut``); the process's ``ru_maxrss`` bounds it
from above, and subprocesses the run waits for (dbt) are counted through ``RUSAGE_CHILDREN``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PAGE = os.sysconf("SC_PAGE_SIZE")
_sampler: PeakSampler | None = None


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class PeakSampler:
    """Samples this process's resident set size; ``cut(name)`` closes a part and keeps its peak."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = 0
        self._part_peak = 0
        self.parts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def _sample(self) -> int:
        now = rss_bytes()
        self.peak = max(self.peak, now)
        self._part_peak = max(self._part_peak, now)
        return now

    def start(self) -> PeakSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def cut(self, name: str) -> None:
        self.parts[name] = max(self._part_peak, self._sample())
        self._part_peak = rss_bytes()


def sampler() -> PeakSampler:
    """The sampler of the current measured run (a dummy one outside a run)."""
    global _sampler
    if _sampler is None:
        _sampler = PeakSampler()
    return _sampler


def _child(fn, args, kwargs, environ, preload):
    global _sampler
    # The measured code's own output (DuckDB's progress bars, dbt's log) goes to stderr: stdout is the table.
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.update(environ)
    for module in preload:
        # Imported before the clock starts: a long-running worker has them loaded already.
        __import__(module)
    _sampler = PeakSampler().start()
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - started
    _sampler.stop()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "result": result,
        "wall_seconds": elapsed,
        "peak_rss": max(own, _sampler.peak),
        "children_peak_rss": children,
        "part_peaks": dict(_sampler.parts),
    }


PRELOAD = ("duckdb", "pyarrow", "pandas", "psycopg")


def isolated(
    fn, *args, environ: dict[str, str] | None = None, preload: tuple[str, ...] = PRELOAD, **kwargs
) -> dict:
    """Run ``fn(*args, **kwargs)`` in a fresh spawned process; return its result with time and peak memory.

    ``fn`` must be importable (a module-level function) and its arguments and result picklable.
    """
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_child, fn, args, kwargs, environ or {}, preload).result()


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def p95(values) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    # Nearest rank: the smallest value with at least 95 % of the observations at or below it.
    rank = max(1, -(-95 * len(ordered) // 100))
    return ordered[rank - 1]


def mib(n: int | float | None) -> str:
    return "—" if not n else f"{n / 2**20:,.0f}"


def fmt_seconds(s: float | None) -> str:
    if s is None or s != s:
        return "—"
    return f"{s:,.3f}" if s < 10 else f"{s:,.1f}"


def fmt_rate(rows: int | None, seconds: float | None) -> str:
    if not rows or not seconds or seconds != seconds:
        return "—"
    return f"{rows / seconds:,.0f}"


def fmt_ratio(seconds: float | None, baseline: float | None) -> str:
    if not seconds or not baseline or seconds != seconds or baseline != baseline:
        return "—"
    return f"{seconds / baseline:.2f}×"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, columns padded so it also reads as plain text."""
    cells = [header, *rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])
