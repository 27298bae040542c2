"""Small helpers for building polars columns from numpy arrays."""

from __future__ import annotations

import numpy as np
import polars as pl


def nullable(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    """``values`` where ``valid``, null elsewhere (with the values' own type)."""
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(pl.Series(values))).to_series()
