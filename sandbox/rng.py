"""Deterministic randomness and exact integer allocation."""

from __future__ import annotations

import hashlib
import math
import random


def derive(*parts) -> int:
    h = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big")


def rng_for(*parts) -> random.Random:
    return random.Random(derive(*parts))


def unit(*parts) -> float:
    """A deterministic number in [0, 1) for the given key."""
    return derive(*parts) / 2.0**64


def allocate(total: int, weights) -> list:
    """Split the integer total in proportion to weights (largest remainder, deterministic)."""
    weights = list(weights)
    n = len(weights)
    if n == 0:
        if total:
            raise ValueError("nothing to allocate to")
        return []
    s = float(sum(weights))
    if s <= 0:
        weights = [1.0] * n
        s = float(n)
    raw = [total * w / s for w in weights]
    out = [int(math.floor(x)) for x in raw]
    rest = total - sum(out)
    order = sorted(range(n), key=lambda k: (-(raw[k] - out[k]), k))
    for k in order[:rest]:
        out[k] += 1
    return out


def scale_to_total(raws, total: int, min_each: int = 0) -> list:
    """Integers proportional to raws, each >= min_each, summing exactly to total."""
    n = len(raws)
    if n == 0:
        if total:
            raise ValueError("nothing to scale")
        return []
    if total < min_each * n:
        raise ValueError("total too small for min_each")
    spare = total - min_each * n
    parts = allocate(spare, raws)
    return [min_each + p for p in parts]


def lognormal_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    v = int(round(median * math.exp(rng.gauss(0.0, sigma))))
    return max(lo, min(hi, v))


def weighted_choice(rng: random.Random, items, cum_weights):
    return rng.choices(items, cum_weights=cum_weights, k=1)[0]


def cum(weights):
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc)
    return out


def amounts_in_cents(rng: random.Random, raws, total_cents: int, min_yuan: int = 0, cents_share: float = 0.15) -> list:
    """Amounts (in 分) proportional to raws, summing exactly to total_cents; most are whole 元,
    about cents_share of them carry 分."""
    n = len(raws)
    if n == 0:
        if total_cents:
            raise ValueError("nothing to allocate to")
        return []
    leftover = total_cents % 100
    yuan = scale_to_total(raws, total_cents // 100, min_each=min_yuan)
    cents = [0] * n
    chosen = [k for k in range(n) if rng.random() < cents_share] or [0]
    s = 0
    for k in chosen[:-1]:
        cents[k] = rng.randrange(1, 100)
        s += cents[k]
    cents[chosen[-1]] = (leftover - s) % 100
    s += cents[chosen[-1]]
    q = (s - leftover) // 100
    big = max(range(n), key=lambda k: yuan[k])
    if yuan[big] - q < min_yuan:  # tiny totals: keep the leftover 分 on one amount only
        cents = [0] * n
        cents[0], q = leftover, 0
    yuan[big] -= q
    return [y * 100 + c for y, c in zip(yuan, cents)]
