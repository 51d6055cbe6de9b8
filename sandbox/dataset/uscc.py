"""Unified social credit codes (GB 32100-2015) with valid check characters."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VAL = {c: k for k, c in enumerate(CHARSET)}
_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_W = (3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    s = sum(_VAL[c] * w for c, w in zip(first17, _W))
    return CHARSET[(31 - s % 31) % 31]


def is_valid(code: str) -> bool:
    if not isinstance(code, str) or len(code) != 18 or any(c not in _VAL for c in code):
        return False
    return check_char(code[:17]) == code[17]


def org_check(body8: str) -> str:
    """GB 11714 check character of the organisation code embedded in the USCC."""
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_W))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def make(division: str, rng, kind: str = "91") -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if rng.random() < 0.7:
        body = "MA" + "".join(rng.choice(chars) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = kind + division + body + org_check(body)
    return first17 + check_char(first17)


def corrupt(code: str, rng) -> str:
    """The same code with a wrong check character."""
    wrong = [c for c in CHARSET if c != code[17]]
    return code[:17] + rng.choice(wrong)
