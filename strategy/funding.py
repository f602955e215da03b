"""Funding statistics over the lookback window.

Computed once per market snapshot and shared by every position and intent evaluated against
it. ``FundingWindow`` keeps running sums, so the backtester (and a long-lived monitor) adds one
settlement per hour in O(1); ``funding_stats`` builds the same window from a list, so both
paths run the same arithmetic.

Volatility is the seed's measure: the coefficient of variation of the hourly rates over the
lookback, ``std / mean(|rate|)`` (population standard deviation), a dimensionless fraction
(0.5 = 50%). It is 0 when every rate is 0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from strategy._construct import trusted
from strategy.units import HOURS_PER_YEAR_D, ZERO


class FundingStats(BaseModel):
    """Hourly Hyperliquid funding rates (positive: the short earns) seen at ``as_of``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: datetime
    latest_time: datetime | None
    """Settlement time of ``current``; ``None`` with no history."""
    current: Decimal | None
    """Latest settled hourly rate."""
    predicted: Decimal | None = None
    """The venue's forecast of the next settlement, when known."""
    hours: int
    """Settled hours inside the lookback window."""
    mean: Decimal
    std: Decimal
    volatility: Decimal
    adverse_hours: int
    """Consecutive latest settlements in which the short paid (rate < 0)."""

    @property
    def current_apy(self) -> Decimal | None:
        return None if self.current is None else self.current * HOURS_PER_YEAR_D

    @property
    def predicted_apy(self) -> Decimal | None:
        return None if self.predicted is None else self.predicted * HOURS_PER_YEAR_D

    @property
    def mean_apy(self) -> Decimal:
        return self.mean * HOURS_PER_YEAR_D


class FundingWindow:
    """Running statistics over the settlements of the last ``lookback_hours``.

    Not thread-safe and mutable by design: it lives inside one backtest run or one activity.
    What crosses a boundary is the immutable ``FundingStats`` it produces.
    """

    __slots__ = (
        "_abs",
        "_adverse",
        "_lookback",
        "_points",
        "_sq",
        "_sum",
    )

    def __init__(self, lookback_hours: int) -> None:
        if lookback_hours < 1:
            raise ValueError("lookback_hours must be at least 1")
        self._lookback = timedelta(hours=lookback_hours)
        self._points: deque[tuple[datetime, Decimal]] = deque()
        self._sum = ZERO
        self._sq = ZERO
        self._abs = ZERO
        self._adverse = 0

    def add(self, time: datetime, rate: Decimal) -> None:
        """Add the settlement at ``time`` (strictly after the previous one)."""
        if self._points and time <= self._points[-1][0]:
            raise ValueError(f"funding settlements must be added in time order ({time})")
        self._points.append((time, rate))
        self._sum += rate
        self._sq += rate * rate
        self._abs += abs(rate)
        self._adverse = self._adverse + 1 if rate < 0 else 0
        self._evict(time)

    def _evict(self, as_of: datetime) -> None:
        horizon = as_of - self._lookback
        points = self._points
        while points and points[0][0] <= horizon:
            _, old = points.popleft()
            self._sum -= old
            self._sq -= old * old
            self._abs -= abs(old)

    def stats(self, as_of: datetime, predicted: Decimal | None = None) -> FundingStats:
        """Statistics over the settlements in ``(as_of - lookback, as_of]``."""
        self._evict(as_of)
        n = len(self._points)
        if n == 0:
            return trusted(
                FundingStats,
                as_of=as_of,
                latest_time=None,
                current=None,
                predicted=predicted,
                hours=0,
                mean=ZERO,
                std=ZERO,
                volatility=ZERO,
                adverse_hours=0,
            )
        count = Decimal(n)
        mean = self._sum / count
        var = self._sq / count - mean * mean
        std = var.sqrt() if var > 0 else ZERO
        mean_abs = self._abs / count
        latest_time, current = self._points[-1]
        return trusted(
            FundingStats,
            as_of=as_of,
            latest_time=latest_time,
            current=current,
            predicted=predicted,
            hours=n,
            mean=mean,
            std=std,
            volatility=std / mean_abs if mean_abs > 0 else ZERO,
            adverse_hours=min(self._adverse, n),
        )


def funding_stats(
    points: Iterable[tuple[datetime, Decimal]],
    as_of: datetime,
    *,
    lookback_hours: int,
    predicted: Decimal | None = None,
) -> FundingStats:
    """Statistics of settled hourly rates ``(time, rate)``, oldest first, as seen at
    ``as_of``; settlements after ``as_of`` are ignored (no look-ahead)."""
    window = FundingWindow(lookback_hours)
    for time, rate in points:
        if time <= as_of:
            window.add(time, rate)
    return window.stats(as_of, predicted)
