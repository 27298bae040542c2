"""Times of day on the simulated calendar, as epoch microseconds."""

from __future__ import annotations

import numpy as np

from simulator.calendar import US_PER_HOUR, US_PER_MINUTE, local_midnight_us


def office_time(
    rng: np.random.Generator, day: np.ndarray, start_hour: float = 8.5, end_hour: float = 17.5
) -> np.ndarray:
    """A time of the working day on each day (local time), to the second."""
    span = (end_hour - start_hour) * US_PER_HOUR
    offset = start_hour * US_PER_HOUR + np.floor(rng.random(len(day)) * span / 1e6) * 1e6
    return (local_midnight_us(np.asarray(day, dtype=np.int64)) + offset.astype(np.int64)).astype(np.int64)


def later(rng: np.random.Generator, us: np.ndarray, low_minutes: float, high_minutes: float) -> np.ndarray:
    """Each time plus a random delay of ``low``..``high`` minutes, to the second."""
    delay = rng.uniform(low_minutes, high_minutes, len(us)) * US_PER_MINUTE
    return (np.asarray(us) + (delay // 1e6 * 1e6).astype(np.int64)).astype(np.int64)
