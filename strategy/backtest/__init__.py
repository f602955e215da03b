"""The backtester: the strategy's own rules replayed hour by hour over ``MarketRow``s.

Pure like the rest of ``strategy``: the caller reads a scenario or a data file into rows;
``run_backtest(rows, BacktestConfig, RiskParams)`` returns a ``BacktestResult`` whose PnL
split (funding, staking, lending, borrow, price, fees) sums to its total to the cent.
"""

from strategy.backtest.engine import run_backtest, run_backtests
from strategy.backtest.ledger import PnlSplit
from strategy.backtest.result import BacktestConfig, BacktestResult, Trade
from strategy.backtest.rows import MarketRow, Tick, validate_rows

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "MarketRow",
    "PnlSplit",
    "Tick",
    "Trade",
    "run_backtest",
    "run_backtests",
    "validate_rows",
]
