"""How long one year of hourly data for 4 assets takes to backtest.

    .venv/bin/python bench/backtest_speed.py [--ticks SECONDS] [--scenario NAME]

The rows (simulated, with one tick a minute by default) are built first and timed apart: the
figure that matters is the engine's, which is what a year of real history would cost.
"""

from __future__ import annotations

import argparse
import time

from models.domain import Asset
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, run_backtest, run_backtests
from venues.market import DEFAULT_START, MarketSimulator
from venues.market.history import simulated_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="calm")
    ap.add_argument("--ticks", type=int, default=60, help="seconds between ticks (0: none)")
    args = ap.parse_args()
    params = RiskParams()
    sim = MarketSimulator(args.scenario)
    t0 = time.perf_counter()
    rows = simulated_rows(
        sim,
        DEFAULT_START,
        8760,
        warmup_hours=params.funding.lookback_hours,
        tick_seconds=args.ticks,
    )
    built = time.perf_counter() - t0
    configs = [BacktestConfig(asset=a, start=DEFAULT_START) for a in Asset]

    t0 = time.perf_counter()
    shared = run_backtests(rows, configs, params)
    one_pass = time.perf_counter() - t0

    t0 = time.perf_counter()
    for cfg in configs:
        run_backtest(rows, cfg, params)
    separate = time.perf_counter() - t0

    print(
        f"rows: {len(rows)} hours ({args.scenario}, ticks every {args.ticks}s) "
        f"built in {built:.2f}s"
    )
    print(f"1 year x 4 assets, one shared pass: {one_pass:.3f}s")
    print(f"1 year x 4 assets, four runs:       {separate:.3f}s")
    for r in shared:
        print(
            f"  {r.config.asset.value:<8} APY {r.apy:.2%}  total {r.pnl.total:>10}  "
            f"round trips {r.round_trips}  rebalances {r.rebalances}"
        )


if __name__ == "__main__":
    main()
