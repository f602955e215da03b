"""Several runs in one shared pass, each with its own risk parameters (a sensitivity sweep),
give exactly what separate runs give."""

from __future__ import annotations

import pytest

from models.risk import RiskParams
from strategy.backtest import BacktestConfig, run_backtest, run_backtests
from tests.unit.strategy.backtest.rowkit import T0, D, row

# Funding pays, turns against the short for 6 hours, then pays again: a patience of 4 h exits,
# one of 12 h rides it out.
ROWS = [row(i, funding="-0.00005" if 60 <= i < 66 else "0.00003") for i in range(-24, 150)]


def _params(patience: int) -> RiskParams:
    p = RiskParams()
    return p.model_copy(update={"exit": p.exit.model_copy(update={"patience_hours": patience})})


def test_per_run_parameters_in_one_pass_match_separate_runs() -> None:
    configs = [BacktestConfig(leverage=D(2), start=T0), BacktestConfig(leverage=D(3), start=T0)]
    params = [_params(4), _params(12)]
    shared = run_backtests(ROWS, configs, params)
    alone = [run_backtest(ROWS, c, p) for c, p in zip(configs, params, strict=True)]
    assert shared == alone
    assert shared[0].exits.get("funding_flip") == 1  # patience 4 h left on the flip
    assert "funding_flip" not in shared[1].exits  # patience 12 h stayed


def test_runs_sharing_a_pass_must_share_the_funding_lookback() -> None:
    p = RiskParams()
    other = p.model_copy(update={"funding": p.funding.model_copy(update={"lookback_hours": 24})})
    with pytest.raises(ValueError, match="one funding lookback"):
        run_backtests(ROWS, [BacktestConfig(start=T0)] * 2, [p, other])
