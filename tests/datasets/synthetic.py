"""Hand-made series for dataset tests: a steady SOL, hourly funding, one protocol's rates,
every value known exactly when a venue would publish it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from datasets import Bar, DatasetSpec, Point, ProtocolHistory, Series, Source, series
from models.domain import Asset, Protocol

D = Decimal
H = timedelta(hours=1)
T0 = datetime(2025, 3, 1, tzinfo=UTC)
HOURS = 24 * 12


def bars(
    prices: dict[int, Decimal] | None = None,
    hours: int = HOURS,
    lows: dict[int, Decimal] | None = None,
) -> Series[Bar]:
    """Hour ``i``'s candle, known at its close; SOL at 100 unless ``prices`` says, with a
    wick down to ``lows[i]``."""
    pts = []
    for i in range(hours):
        p = (prices or {}).get(i, D(100))
        low = (lows or {}).get(i, p * D("0.998"))
        pts.append(Point(T0 + (i + 1) * H, Bar(p, p * D("1.002"), low, p)))
    return series("test candles", "synthetic", pts)


def funding(rates: dict[int, Decimal] | None = None, hours: int = HOURS) -> Series[Decimal]:
    """The settlement at ``T0 + i h`` (paying for the hour before it)."""
    pts = [Point(T0 + i * H, (rates or {}).get(i, D("0.00003"))) for i in range(hours + 1)]
    return series("test funding", "synthetic", pts)


def rates(value: str, hours: int = HOURS) -> Series[Decimal]:
    return series(
        f"test rate {value}", "synthetic", [Point(T0 + (i + 1) * H, D(value)) for i in range(hours)]
    )


def spec(
    *,
    prices: dict[int, Decimal] | None = None,
    funding_rates: dict[int, Decimal] | None = None,
    hours: int = HOURS,
    lows: dict[int, Decimal] | None = None,
) -> DatasetSpec:
    candles = bars(prices, hours, lows)
    return DatasetSpec(
        sol=[Source(candles, timedelta(0))],
        perp=[Source(candles, timedelta(0))],
        funding=[Source(funding(funding_rates, hours), 7 * H, within_period=True)],
        protocols=[
            ProtocolHistory(
                protocol=Protocol.KAMINO,
                borrow=[Source(rates("0.06", hours), 6 * H)],
                lend={Asset.SOL: [Source(rates("0.05", hours), 6 * H)]},
                liquidation_ltv=D("0.9"),
            )
        ],
    )
