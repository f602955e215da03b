"""How an hour of real history, known only by its open, high, low and close, is walked by
the backtester (the simulator's rows carry real minute ticks and are left alone).

- ``path`` (the default): open -> first extreme (:20) -> second extreme (:40) -> close, the
  low first on an hour that closed up. The monitor's urgent rules run at each extreme, as
  they would live when a wick reaches them; a fall that passes the urgent level *and* the
  liquidation price inside one hour is a liquidation (the pessimistic reading of a crash).
- ``linear``: the same path, walked in straight lines with a tick every 5 minutes in hours
  that moved 2% or more: a crash is a slide the 30-second monitor can exit part-way down
  (the optimistic reading: it assumes the exit filled there, at the urgent slippage).
- ``extremes``: no ticks; only whether either leg's liquidation price lies inside the hour's
  range (the engine's own judgement without ticks).

The perp follows SOL at the close's premium, and stands at the hour's perp high when SOL is
at its high.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from strategy.backtest import MarketRow, Tick

MODES = ("path", "linear", "extremes")
NOTES = {
    "path": "intrahour: each hour walks open -> low -> high -> close (high first on a down "
    "hour); urgent exits fire at a wick, a crash through liquidation inside one hour liquidates",
    "linear": "intrahour: hours that moved 2% or more slide in straight lines with a tick every "
    "5 minutes, so urgent exits fire part-way down a crash (optimistic)",
    "extremes": "intrahour: only liquidation against each hour's range; no urgent exit inside "
    "an hour",
}
_SEGMENT = timedelta(minutes=20)
_STEPS = 4  # ticks per 20-minute segment in ``linear`` (every 5 minutes)
_MIN_RANGE = Decimal("0.02")


def _corners(r: MarketRow) -> list[tuple[Decimal, Decimal]]:
    """(SOL, perp) at the open, the two extremes in order, and the close."""
    premium = r.perp_close / r.sol_close
    low = (r.sol_low, r.sol_low * premium)
    high = (r.sol_high, max(r.perp_high, r.perp_close))
    first, second = (low, high) if r.sol_close >= r.sol_open else (high, low)
    return [(r.sol_open, r.sol_open * premium), first, second, (r.sol_close, r.perp_close)]


def ohlc_path(r: MarketRow) -> MarketRow:
    if r.ticks:
        return r
    c = _corners(r)
    ticks = tuple(
        Tick(at=r.time + (i + 1) * _SEGMENT, sol=c[i + 1][0], perp=c[i + 1][1]) for i in range(2)
    )
    return dataclasses.replace(r, ticks=ticks)


def linear_path(r: MarketRow) -> MarketRow:
    if r.ticks:
        return r
    if r.sol_high / r.sol_low - 1 < _MIN_RANGE:
        return ohlc_path(r)
    c = _corners(r)
    ticks = []
    for seg in range(3):
        (s0, p0), (s1, p1) = c[seg], c[seg + 1]
        for k in range(1, _STEPS + 1):
            at = r.time + seg * _SEGMENT + k * _SEGMENT / _STEPS
            if at >= r.close_time:
                break
            f = Decimal(k) / _STEPS
            ticks.append(Tick(at=at, sol=s0 + (s1 - s0) * f, perp=p0 + (p1 - p0) * f))
    return dataclasses.replace(r, ticks=tuple(ticks))


def walk(rows: Sequence[MarketRow], mode: str, begin: datetime) -> list[MarketRow]:
    """The rows from ``begin`` on walked by ``mode`` (earlier rows only feed the funding
    lookback and stay as they are)."""
    if mode not in MODES:
        raise ValueError(f"--intrahour: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "extremes":
        return list(rows)
    step = ohlc_path if mode == "path" else linear_path
    return [step(r) if r.time >= begin else r for r in rows]
