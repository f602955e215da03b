"""Look-ahead is impossible by construction: a spike that happens later cannot change any
row, or any decision, before the moment it became known."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from basis.backtest import load_rows
from datasets import build, write_dataset
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, BacktestResult, MarketRow, run_backtest
from tests.datasets.synthetic import T0, D, H, spec

SPIKE_HOUR = 200
KNOWN_AT = T0 + SPIKE_HOUR * H


def _rows(
    tmp_path: Path,
    name: str,
    *,
    prices: dict[int, Decimal] | None = None,
    funding_rates: dict[int, Decimal] | None = None,
) -> list[MarketRow]:
    path = tmp_path / f"{name}.parquet"
    write_dataset(build(spec(prices=prices, funding_rates=funding_rates)), path)
    return load_rows(path)


def _run(rows: list[MarketRow]) -> BacktestResult:
    cfg = BacktestConfig(leverage=D(3), start=T0 + 24 * H)
    return run_backtest(rows, cfg, RiskParams(), keep_curve=True)


def _before(curve: tuple[tuple[datetime, Decimal], ...]) -> list[tuple[datetime, Decimal]]:
    return [(t, e) for t, e in curve if t < KNOWN_AT]


def test_a_future_funding_spike_changes_no_row_and_no_decision_before_it_was_known(
    tmp_path: Path,
) -> None:
    calm = _rows(tmp_path, "calm")
    spiked = _rows(tmp_path, "spiked", funding_rates={SPIKE_HOUR: D("-0.01")})
    # Rows decided before the settlement was published are identical ...
    before = [r for r in calm if r.close_time < KNOWN_AT]
    assert before == [r for r in spiked if r.close_time < KNOWN_AT]
    # ... and the hour it settles carries it.
    assert next(r for r in spiked if r.close_time == KNOWN_AT).funding_rate == D("-0.01")

    a, b = _run(calm), _run(spiked)
    assert a.trades and a.trades[0].opened_at < KNOWN_AT  # the strategy was in the market
    assert _before(a.equity_curve) == _before(b.equity_curve)
    assert [t for t in a.trades if t.closed_at < KNOWN_AT] == [
        t for t in b.trades if t.closed_at < KNOWN_AT
    ]
    assert a.pnl != b.pnl  # the spike mattered once known: this test can fail


def test_a_future_price_crash_changes_nothing_before_its_hour_closes(tmp_path: Path) -> None:
    calm = _rows(tmp_path, "calm")
    crashed = _rows(tmp_path, "crash", prices={SPIKE_HOUR: D(70)})
    # The crash hour's candle is known at its close, an hour after it opened.
    cutoff = KNOWN_AT + H
    assert [r for r in calm if r.close_time < cutoff] == [
        r for r in crashed if r.close_time < cutoff
    ]
    a, b = _run(calm), _run(crashed)
    assert [(t, e) for t, e in a.equity_curve if t < cutoff] == [
        (t, e) for t, e in b.equity_curve if t < cutoff
    ]
    assert a.final_equity_usd != b.final_equity_usd
