"""Benchmark: generating one year's white paper (read published → charts and text → HTML → PDF). Goal ≤ 30 s.

    .venv/bin/python bench/whitepaper.py --year 2020 [--runs 3] [--out /tmp/wp-bench]

Runs against the warehouse of the current environment (IPKPI_HOME / IPKPI_PG_PORT, e.g. the one
`make run` published, or a development state dir), reading `published` as bi_reader, and starts that
environment's embedded Postgres if it is not running. Each run is a fresh process (cold imports,
font cache, matplotlib), as `ipkpi whitepaper` and the DAG run it. Prints seconds per run and the
split of the last run (read, charts + text, HTML, PDF).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 30.0
CHILD = """
import json, sys
from pathlib import Path
from ipkpi.whitepaper import generate
r = generate(int(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"timings": r["timings"], "figures": r["figures"], "publication_id": r["publication_id"],
                  "pdf_bytes": r["pdf"].stat().st_size}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ipkpi-whitepaper-bench")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/RESULTS.md")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench.results import load_average, record

    started_load = load_average()
    from ipkpi.platform import services
    from ipkpi.platform.config import Settings

    services.ensure_postgres(Settings.from_env())
    walls = []
    for i in range(args.runs):
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.year), str(args.out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        wall = time.monotonic() - started
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        result = json.loads(out.stdout.strip().splitlines()[-1])
        walls.append(wall)
        print(
            f"run {i + 1}: {wall:5.1f} s wall (in-process {result['timings']['total']:.1f} s), "
            f"{result['figures']} figures, PDF {result['pdf_bytes'] / 1e6:.1f} MB",
            flush=True,
        )
    split = ", ".join(f"{k} {v:.2f} s" for k, v in result["timings"].items() if k != "total")
    best, worst = min(walls), max(walls)
    line = (
        f"white paper {args.year} (publication {result['publication_id']}): best {best:.1f} s, worst {worst:.1f} s "
        f"(goal ≤ {GOAL_SECONDS:.0f} s: {'met' if worst <= GOAL_SECONDS else 'NOT met'}); last run: {split}"
    )
    print(line)
    if args.record:
        record(
            "whitepaper",
            "White paper generation (bench/whitepaper.py)",
            f"{args.runs} runs, each a fresh process.\n\n"
            + "\n".join(f"- run {i + 1}: {wall:.1f} s wall" for i, wall in enumerate(walls))
            + f"\n- {line}\n",
            started_load,
        )
    return 0 if worst <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
