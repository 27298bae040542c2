"""The simulated calendar.

The county's work year is 2017 (the 2017 exit plan). A generated database holds everything up to the end of
``AS_OF`` (2017-12-01, Beijing time): a year of visits and GPS trajectories (2016-12-02 .. 2017-12-01),
incomes 2014-2017, and households registered from 2014. ``advance_day`` then moves the clock one day at a
time (2017-12-02, 2017-12-03, ...). Every timestamp in the data comes from this clock, never the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np

TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
WORK_YEAR = 2017
AS_OF = date(2017, 12, 1)
FIRST_REGISTRATION_YEAR = 2014
INCOME_YEARS = (2014, 2015, 2016, 2017)

# The national rural poverty line (yuan per person per year, current prices; 2,300 yuan at 2010 prices).
POVERTY_LINE = {
    2013: 2736,
    2014: 2800,
    2015: 2855,
    2016: 2952,
    2017: 2952,
    2018: 2995,
    2019: 3218,
    2020: 4000,
}

_EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
US_PER_MINUTE = 60_000_000
_OFFSET_US = 8 * US_PER_HOUR


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


def local_midnight_us(day: np.ndarray | int) -> np.ndarray | int:
    """Epoch microseconds (UTC) of local (UTC+8) midnight starting day number ``day``."""
    return day * US_PER_DAY - _OFFSET_US


def day_of_local_us(us: np.ndarray) -> np.ndarray:
    """The local (UTC+8) day number of epoch microseconds."""
    return (us + _OFFSET_US) // US_PER_DAY


def as_datetime(us: int) -> datetime:
    """Epoch microseconds as an aware datetime in Beijing time."""
    return datetime(1970, 1, 1, tzinfo=UTC).astimezone(TZ) + timedelta(microseconds=int(us))


def is_workday(days: np.ndarray) -> np.ndarray:
    """Monday to Friday (1970-01-01 was a Thursday)."""
    return ((days + 3) % 7) < 5
