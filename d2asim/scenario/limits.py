"""The documented ranges of every number in a scenario, as reusable annotated types.

Every float in a scenario must be finite (``.nan``, ``.inf`` and ``1e309`` are
rejected by the blocks' ``allow_inf_nan=False``); on top of that each kind of
number has a range, chosen so that every value d2asim computes from a valid
scenario stays finite, every date stays representable and a replication stays
within about a gigabyte of memory:

===========================  ===================================================
durations (days)             0 to 36,525 (100 years); a distribution's mean, its
                             99.9th percentile and that of a stay in progress too
reported period              ``duration_days`` 1 to 36,525; ``warmup_days`` 0 to
                             3,653 (10 years); ``start_date`` 1900-01-01 to
                             2100-12-31, so every simulated date lies in 1890-2201
arrivals                     ``per_day`` 0 to 5,000 per stream, and the busiest
                             day (``per_day`` x largest weekday x largest month
                             multiplier) at most 5,000; each multiplier or hourly
                             weight 0 to 1,000; at most 2,000,000 expected
                             admissions per replication (all streams, warm-up
                             included)
empirical values             1 to 1,000,000 durations, each 0 to 36,525 days
distribution shapes          gamma shape up to 1,000,000; weibull shape 0.05 to
                             1,000,000 (a smaller shape overflows its draws)
beds, places, teams          0 (or 1) to 1,000,000
people in the initial state  0 to 1,000,000 each, and within the capacities
costs                        0 to 1,000,000 GBP per day
population                   1 to 100,000,000 people
replications, seed           1 to 10,000; 0 to 2**63 - 1
===========================  ===================================================

``d2asim schema`` shows each range as the field's ``minimum`` / ``maximum``, and
an error line names the limit it broke.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

MAX_DAYS = 36_525  # 100 years: the longest duration, distribution mean or percentile
MAX_WARMUP_DAYS = 3_653  # 10 years
EARLIEST_START = dt.date(1900, 1, 1)
LATEST_START = dt.date(2100, 12, 31)
MAX_ARRIVALS_PER_DAY = 5_000.0  # per stream, at the busiest calendar day
MAX_MULTIPLIER = 1_000.0  # a calendar multiplier or an hourly weight
MAX_ARRIVALS_PER_REPLICATION = 2_000_000  # expected admissions, all streams, warm-up included
MAX_PLACES = 1_000_000  # beds, places, visits per day, concurrent assessments
MAX_PEOPLE = 1_000_000  # people in one stock of the initial state
MAX_GBP_PER_DAY = 1_000_000.0
MAX_POPULATION = 100_000_000
MAX_REPLICATIONS = 10_000
MAX_SEED = 2**63 - 1
MAX_VISITS_PER_DAY = 100.0
MAX_AGE = 120
QUANTILE = 0.999  # the percentile of a stay checked against MAX_DAYS

Days = Annotated[float, Field(ge=0, le=MAX_DAYS)]
PositiveDays = Annotated[float, Field(gt=0, le=MAX_DAYS)]
StartDate = Annotated[dt.date, Field(ge=EARLIEST_START, le=LATEST_START, json_schema_extra={
    "formatMinimum": EARLIEST_START.isoformat(), "formatMaximum": LATEST_START.isoformat()})]
WarmupDays = Annotated[int, Field(ge=0, le=MAX_WARMUP_DAYS)]
ReportedDays = Annotated[int, Field(gt=0, le=MAX_DAYS)]
ArrivalRate = Annotated[float, Field(ge=0, le=MAX_ARRIVALS_PER_DAY)]
Multiplier = Annotated[float, Field(ge=0, le=MAX_MULTIPLIER)]
Places = Annotated[int, Field(ge=0, le=MAX_PLACES)]
PositivePlaces = Annotated[int, Field(gt=0, le=MAX_PLACES)]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
Money = Annotated[float, Field(ge=0, le=MAX_GBP_PER_DAY)]
Population = Annotated[int, Field(gt=0, le=MAX_POPULATION)]
Replications = Annotated[int, Field(gt=0, le=MAX_REPLICATIONS)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
VisitsPerDay = Annotated[float, Field(gt=0, le=MAX_VISITS_PER_DAY)]
Age = Annotated[int, Field(ge=0, le=MAX_AGE)]
MAX_EMPIRICAL_VALUES = 1_000_000  # observed durations of one empirical distribution
MIN_WEIBULL_SHAPE = 0.05  # below it a draw (scale x E^(1/shape)) can overflow to inf
MAX_SHAPE = 1_000_000.0  # gamma or weibull shape
EmpiricalValues = Annotated[tuple[Days, ...], Field(min_length=1, max_length=MAX_EMPIRICAL_VALUES)]
WeibullShape = Annotated[float, Field(ge=MIN_WEIBULL_SHAPE, le=MAX_SHAPE)]
GammaShape = Annotated[float, Field(gt=0, le=MAX_SHAPE)]
