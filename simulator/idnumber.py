"""Resident ID numbers (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence (odd for men),
and the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import numpy as np

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The check character of one ID number's first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS.tolist(), strict=True))
    return CHECK_CHARS[total % 11]


def is_valid(id_number: str) -> bool:
    """Whether an 18-character ID number's check character is right."""
    return (
        len(id_number) == 18
        and id_number[:17].isdigit()
        and id_number[17] in "0123456789X"
        and check_char(id_number[:17]) == id_number[17]
    )


def build(region: np.ndarray, birth_ymd: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """ID numbers (as a numpy unicode array) from region codes (int, 6 digits), birth dates (int yyyymmdd)
    and sequence numbers (0..999)."""
    digits = np.empty((len(region), 17), dtype=np.int64)
    for i in range(6):
        digits[:, i] = (region // 10 ** (5 - i)) % 10
    for i in range(8):
        digits[:, 6 + i] = (birth_ymd // 10 ** (7 - i)) % 10
    for i in range(3):
        digits[:, 14 + i] = (sequence // 10 ** (2 - i)) % 10
    check = (digits @ WEIGHTS) % 11
    chars = np.array(list(CHECK_CHARS))[check]
    body = (region * 10**11 + birth_ymd * 10**3 + sequence).astype(np.int64)
    return np.char.add(body.astype(str), chars)


def spoil(id_numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same ID numbers with a wrong check character each."""
    out = []
    for value in id_numbers.tolist():
        wrong = [c for c in CHECK_CHARS if c != value[17]]
        out.append(value[:17] + wrong[int(rng.integers(len(wrong)))])
    return np.array(out)
