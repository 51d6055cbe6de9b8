"""python -m sandbox --host 127.0.0.1 --port 8801 --credentials-file FILE [...]"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .config import DEFAULT_AS_OF, DEFAULT_SEED, FAULT_KINDS, SandboxConfig
from .server import SandboxServer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Agency sandbox server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8801)
    p.add_argument("--credentials-file", required=True, help='JSON {"court": "...", "customs": ..., ...}')
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--as-of", default=DEFAULT_AS_OF)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-kinds", default=",".join(FAULT_KINDS))
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--timeout-delay", type=float, default=3.0)
    p.add_argument("--police-user", default="ipkpi")
    p.add_argument("--traps", default="", help='JSON object of opt-in traps, e.g. {"ytd_decrease": "2021-05"}')
    p.add_argument(
        "--hostile",
        default="",
        help='opt-in hostile modes: "trickle,zip_bomb" or JSON {"trickle": "police"} (README "Hostile mode")',
    )
    p.add_argument("--hostile-size", type=int, default=64 << 20, help="bytes of a hostile body or unzipped sheet")
    p.add_argument("--hostile-total", type=int, default=10**9, help="the court total of huge_total")
    p.add_argument("--trickle-interval", type=float, default=2.0, help="seconds between bytes of trickle")
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        creds = SandboxConfig.load_credentials(a.credentials_file)
        cfg = SandboxConfig(
            credentials=creds,
            scale=a.scale,
            seed=a.seed,
            as_of=a.as_of,
            fault_rate=a.fault_rate,
            fault_kinds=a.fault_kinds,
            fault_seed=a.fault_seed,
            retry_after=a.retry_after,
            timeout_delay=a.timeout_delay,
            police_user=a.police_user,
            traps=json.loads(a.traps) if a.traps else {},
            hostile=json.loads(a.hostile) if a.hostile.lstrip().startswith("{") else a.hostile,
            hostile_size=a.hostile_size,
            hostile_total=a.hostile_total,
            trickle_interval=a.trickle_interval,
        )
        server = SandboxServer(a.host, a.port, cfg, verbose=a.verbose)
    except (OSError, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"sandbox listening on {server.url}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
