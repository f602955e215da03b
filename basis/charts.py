"""The backtest chart: equity over time for each run, and the funding the short was paid over
the same period, with the hours the first run held a position shaded. A PNG (Agg backend, no
display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from strategy.backtest import BacktestResult, MarketRow
from strategy.decisions import ExitReason
from strategy.units import HOURS_PER_YEAR

ROLLING_HOURS = 168


def _rolling(values: Sequence[float], n: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= n:
            total -= values[i - n]
        out.append(total / min(i + 1, n))
    return out


def write_chart(
    path: Path, results: Sequence[BacktestResult], rows: Sequence[MarketRow], title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = min(r.start for r in results)
    shown = [r for r in rows if r.time >= start]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for r in results:
        if not r.equity_curve:
            continue
        times = [t for t, _ in r.equity_curve]
        equity = [float(v) for _, v in r.equity_curve]
        liq = f", {r.liquidations} liq." if r.liquidations else ""
        (line,) = top.plot(
            times,
            equity,
            linewidth=1.1,
            label=f"{r.config.leverage.normalize():f}x  APY {float(r.apy) * 100:.1f}%{liq}",
        )
        by_time = dict(r.equity_curve)
        for t in r.trades:
            if t.exit_reason is ExitReason.LIQUIDATED:
                at = _nearest(list(by_time), t.closed_at)
                top.plot([at], [float(by_time[at])], "x", color=line.get_color(), markersize=9)
    top.axhline(float(results[0].capital_usd), color="grey", linewidth=0.7, linestyle=":")
    top.set_ylabel("equity (USD)")
    top.set_title(title, fontsize=11)
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)

    times = [r.close_time for r in shown]
    apy = [float(r.funding_rate) * HOURS_PER_YEAR * 100 for r in shown]
    bottom.plot(times, apy, color="#b0b0b0", linewidth=0.4, label="hourly settlement, annualised")
    bottom.plot(
        times, _rolling(apy, ROLLING_HOURS), color="#1f4e8c", linewidth=1.2, label="7-day mean"
    )
    bottom.axhline(0, color="black", linewidth=0.7)
    # Shade the hours in market of the 3x run (the default leverage) when there is one.
    first = next((r for r in results if r.config.leverage == 3 and r.trades), results[0])
    for i, t in enumerate(first.trades):
        bottom.axvspan(
            t.opened_at,
            t.closed_at,
            color="#2ca02c",
            alpha=0.15,
            linewidth=0,
            label=f"{first.config.leverage.normalize():f}x in market" if i == 0 else None,
        )
    lo, hi = _clip(apy)
    bottom.set_ylim(lo, hi)
    bottom.set_ylabel("funding to shorts (% a year)")
    bottom.legend(loc="upper left", fontsize=8)
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _clip(values: Sequence[float]) -> tuple[float, float]:
    """A y-range that shows the bulk of the hourly rates (spikes run off the chart)."""
    ordered = sorted(values)
    if not ordered:
        return -10.0, 10.0
    lo = ordered[int(len(ordered) * 0.005)]
    hi = ordered[int(len(ordered) * 0.995) - 1]
    pad = (hi - lo) * 0.1 or 1.0
    return min(lo - pad, -5.0), hi + pad


def _nearest(times: Sequence[datetime], when: datetime) -> datetime:
    return min(times, key=lambda c: abs(c - when))
