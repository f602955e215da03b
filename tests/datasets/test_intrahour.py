"""Hours without ticks in real data: walked as open -> extremes -> close, so the monitor's
urgent exits fire at a wick the way they would live; or judged on the extremes alone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from basis.backtests import prepare_data
from basis.intrahour import ohlc_path
from datasets import build, write_dataset
from models.domain import Asset
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, run_backtest
from strategy.decisions import ExitReason
from tests.datasets.synthetic import T0, D, H, spec

WICK = 100


@pytest.fixture
def wick_file(tmp_path: Path) -> Path:
    """SOL at 100 throughout, one hour wicking to 80: -20% takes a fresh 3x long's health
    (0.26) below the urgent level (0.10) but not to liquidation (-26%)."""
    path = tmp_path / "wick.parquet"
    write_dataset(build(spec(lows={WICK: D(80)})), path)
    return path


def test_walking_the_hour_exits_urgently_at_the_wick(wick_file: Path) -> None:
    run = prepare_data(wick_file, Asset.SOL, "2025-03-02T00:00:00Z", None, meta=None)
    result = run_backtest(run.rows, BacktestConfig(leverage=D(3), start=run.start), RiskParams())
    exits = [t for t in result.trades if t.exit_reason is ExitReason.HEALTH_EMERGENCY]
    assert len(exits) == 1
    assert T0 + WICK * H < exits[0].closed_at < T0 + (WICK + 1) * H
    assert exits[0].exit_sol_price == D(80)
    assert result.liquidations == 0
    assert any("intrahour" in n for n in run.notes)


def test_judging_extremes_only_rides_through_a_wick_short_of_liquidation(wick_file: Path) -> None:
    run = prepare_data(
        wick_file, Asset.SOL, "2025-03-02T00:00:00Z", None, meta=None, intrahour="extremes"
    )
    result = run_backtest(run.rows, BacktestConfig(leverage=D(3), start=run.start), RiskParams())
    assert all(t.exit_reason is not ExitReason.HEALTH_EMERGENCY for t in result.trades)
    assert result.liquidations == 0


def test_the_walk_puts_the_low_first_on_an_up_hour_and_last_on_a_down_hour(
    wick_file: Path,
) -> None:
    row = prepare_data(wick_file, Asset.SOL, None, None, meta=None, intrahour="extremes").rows[0]
    up = ohlc_path(row)  # open == close: an up hour
    assert [t.sol for t in up.ticks] == [row.sol_low, row.sol_high]
    down = ohlc_path(dataclasses.replace(row, sol_open=row.sol_high))
    assert [t.sol for t in down.ticks] == [row.sol_high, row.sol_low]
    assert all(row.time < t.at < row.close_time for t in down.ticks)


@pytest.fixture
def crash_file(tmp_path: Path) -> Path:
    """One hour wicking from 100 to 70: through a fresh 3x long's liquidation price (-26%)."""
    path = tmp_path / "crash.parquet"
    write_dataset(build(spec(lows={WICK: D(70)})), path)
    return path


def _crash_run(path: Path, mode: str) -> tuple[int, list[ExitReason], D]:
    run = prepare_data(path, Asset.SOL, "2025-03-02T00:00:00Z", None, meta=None, intrahour=mode)
    r = run_backtest(run.rows, BacktestConfig(leverage=D(3), start=run.start), RiskParams())
    crash = [t for t in r.trades if T0 + WICK * H < t.closed_at < T0 + (WICK + 1) * H]
    return r.liquidations, [t.exit_reason for t in crash], crash[0].exit_sol_price


def test_a_crash_through_liquidation_in_one_jump_liquidates_on_the_path(crash_file: Path) -> None:
    liquidations, reasons, _ = _crash_run(crash_file, "path")
    assert liquidations == 1
    assert reasons == [ExitReason.LIQUIDATED]


def test_a_crash_walked_linearly_is_exited_part_way_down(crash_file: Path) -> None:
    liquidations, reasons, price = _crash_run(crash_file, "linear")
    assert liquidations == 0
    # 5-minute ticks of a 30% slide: the first past the urgent level (-18%) may be past the
    # critical one (-22%) too, but short of liquidation (-26%)
    assert reasons in ([ExitReason.HEALTH_EMERGENCY], [ExitReason.HEALTH_CRITICAL])
    assert D(74) < price < D(85)
