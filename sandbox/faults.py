"""Deterministic transient-fault injection.

Each request gets a key (its path and query, minus credentials) and the n-th request with
that key draws from sha256(fault_seed, key, n): with probability fault_rate it fails with
one of the configured kinds. A retried request has a new n, so it can succeed. Faults never
change the dataset.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict


class FaultInjector:
    def __init__(self, rate: float, kinds, seed: int = 0):
        self.rate = float(rate)
        self.kinds = tuple(kinds)
        self.seed = seed
        self._counts = defaultdict(int)
        self._lock = threading.Lock()
        self.injected = defaultdict(int)  # kind -> how many were injected (for tests / logs)

    def decide(self, key: str, applicable=None):
        """The fault kind for this request, or None. `applicable` limits the kinds."""
        if self.rate <= 0.0 or not self.kinds:
            return None
        with self._lock:
            n = self._counts[key]
            self._counts[key] = n + 1
        h = hashlib.sha256(f"{self.seed}|{key}|{n}".encode("utf-8")).digest()
        u = int.from_bytes(h[:8], "big") / 2.0**64
        if u >= self.rate:
            return None
        kinds = self.kinds if applicable is None else tuple(k for k in self.kinds if k in applicable)
        if not kinds:
            return None
        kind = kinds[int.from_bytes(h[8:16], "big") % len(kinds)]
        with self._lock:
            self.injected[kind] += 1
        return kind
