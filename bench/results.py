"""bench/RESULTS.md: the machine a figure was measured on, and each benchmark's own section.

Each bench script prints its figures; with ``--record`` it also replaces its section of
bench/RESULTS.md (between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; appended when
absent), stamped with the date, the commit and the machine, so the file always holds every
benchmark's latest figures and a re-run after a change rewrites only its own section.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


def commit() -> str:
    """The commit measured, with `+dirty` when the work tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    # this file itself is rewritten by every recorded run: it does not make the code measured dirty
    return sha + (
        "+dirty" if git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md") else ""
    )


def machine() -> str:
    """nproc, CPU model, RAM — and the load average, since the machine may be shared."""
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    ram_gib = 0.0
    try:
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram_gib = kib / 1024**2
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {ram_gib:.1f} GiB RAM"


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def stamp(started_load: str | None = None) -> str:
    """One line: when, which commit, which machine, the load average (at the start and the end)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = (
        f"load average (1/5/15 min) {started_load} at the start, {load_average()} at the end"
        if started_load
        else f"load average (1/5/15 min) {load_average()}"
    )
    return f"*{now} · commit {commit()} · {machine()} · {load}*"


def record(name: str, title: str, body: str, started_load: str | None = None) -> None:
    """Replace (or append) section ``name`` of bench/RESULTS.md."""
    section = f"<!-- bench:{name} -->\n## {title}\n\n{stamp(started_load)}\n\n{body.rstrip()}\n<!-- /bench:{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(f"recorded in {RESULTS.relative_to(ROOT)} (section {name})")
