"""Named random streams: each part of the generator draws from its own stream, so the data are the same
for a given seed whatever order the parts run in, and a change in one part does not shift the others."""

from __future__ import annotations

import hashlib

import numpy as np


def stream(seed: int, name: str, *salt: int) -> np.random.Generator:
    """A generator for ``name`` (plus integer salt, e.g. a county or a day) under ``seed``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, *words, *salt]))
