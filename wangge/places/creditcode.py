"""The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters from a
31-character set (digits and capitals without I, O, S, V, Z), the last a check character.

Each of the first 17 characters' value is weighted by 3^i mod 31 (1, 3, 9, 27, 19, 26, …);
the check character's value is 31 − (sum mod 31), with 31 written as 0.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]
VALUES = {c: i for i, c in enumerate(CHARSET)}


def normalise(code: str) -> str:
    return "".join(code.split()).upper()


def check_character(first17: str) -> str:
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True for an 18-character code in the character set whose check character matches."""
    # the 3rd–8th characters are the registering authority's division code (GB/T 2260)
    return is_well_formed(code) and check_character(code[:17]) == code[17]


def is_well_formed(code: str) -> bool:
    """18 characters of the set with a division code: what a pilot code with a check character
    the rule does not give still is."""
    return len(code) == 18 and all(c in VALUES for c in code) and code[2:8].isdigit()


def make(first17: str) -> str:
    """A complete code from its first 17 characters (for the demo and tests)."""
    return first17 + check_character(first17)
