"""The backtester's input: one row per UTC hour.

A row carries what was observable during the hour ``[time, time + 1h)`` and at its close:
SOL's oracle OHLC (the extremes drive the liquidation checks), the perp mark, the funding rate
settled at ``time + 1h`` for this hour, the LST quotes and the lending terms. ``ticks``
optionally samples the hour's path (the simulator provides one per minute); real hourly
history has none, and then liquidation is judged against the hour's extremes alone.

Everything is exact (``Decimal``); the quote and terms types are the strategy's own, so a row
turns into a ``MarketSnapshot`` at its close without conversion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from models.domain import Asset, Venue
from strategy.market import AssetQuote, ProtocolTerms

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Tick:
    """One intrahour observation, strictly inside its row's hour."""

    at: datetime
    sol: Decimal
    perp: Decimal


@dataclass(frozen=True, slots=True)
class MarketRow:
    time: datetime
    """Start of the hour (UTC, on the hour)."""
    sol_open: Decimal
    sol_high: Decimal
    sol_low: Decimal
    sol_close: Decimal
    perp_close: Decimal
    perp_high: Decimal
    """Highest mark during the hour (the short's liquidation check)."""
    funding_rate: Decimal
    """Hourly rate settled at ``time + 1h`` for this hour (positive: the short earns)."""
    assets: Mapping[Asset, AssetQuote]
    """Quotes at the close."""
    protocols: tuple[ProtocolTerms, ...]
    """Lending terms in force during the hour."""
    predicted_funding: Decimal | None = None
    """Forecast of the next settlement, as known at the close."""
    outages: frozenset[Venue] = frozenset()
    """Venues unavailable during the hour: nothing is traded on them."""
    ticks: tuple[Tick, ...] = ()
    """In time order, strictly inside the hour."""

    @property
    def close_time(self) -> datetime:
        return self.time + HOUR


def validate_rows(rows: Sequence[MarketRow]) -> None:
    """Refuse what a backtest must not silently paper over: unordered, off-the-hour or
    missing hours, inconsistent extremes, ticks outside their hour."""
    if not rows:
        raise ValueError("no market rows")
    prev: datetime | None = None
    for r in rows:
        t = r.time
        if t.tzinfo is None:
            raise ValueError(f"row time {t} is not timezone-aware")
        if (t.minute, t.second, t.microsecond) != (0, 0, 0):
            raise ValueError(f"row time {t.isoformat()} is not on the hour")
        if prev is not None and t != prev + HOUR:
            raise ValueError(
                f"rows must be consecutive hours: {prev.isoformat()} is followed by {t.isoformat()}"
            )
        if (
            not r.sol_low
            <= min(r.sol_open, r.sol_close)
            <= max(r.sol_open, r.sol_close)
            <= r.sol_high
            or r.sol_low <= 0
        ):
            raise ValueError(f"row {t.isoformat()}: inconsistent SOL open/high/low/close")
        if r.perp_high < r.perp_close:
            raise ValueError(f"row {t.isoformat()}: perp_high below perp_close")
        # Ticks are in time order (documented), so the two ends bound them all.
        if r.ticks and not t < r.ticks[0].at <= r.ticks[-1].at < t + HOUR:
            raise ValueError(f"row {t.isoformat()}: ticks outside the hour or out of order")
        prev = t
