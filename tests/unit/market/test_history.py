"""Backtest rows built from the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.domain import Asset
from strategy.backtest import validate_rows
from venues.market import DEFAULT_START, MarketSimulator
from venues.market.history import simulated_rows

H = timedelta(hours=1)


def test_rows_are_consecutive_hours_with_minute_ticks_after_the_warmup() -> None:
    sim = MarketSimulator("crash")
    rows = simulated_rows(sim, DEFAULT_START, 3, warmup_hours=2)
    validate_rows(rows)
    assert [r.time for r in rows] == [DEFAULT_START + i * H for i in range(-2, 3)]
    assert [len(r.ticks) for r in rows] == [0, 0, 59, 59, 59]
    for r in rows:
        prices = [r.sol_open, r.sol_close, *(k.sol for k in r.ticks)]
        assert (r.sol_low == min(prices) and r.sol_high == max(prices)) or not r.ticks
        assert r.funding_rate == sim.settled_funding(r.close_time)
        assert set(r.assets) == set(Asset)
        assert len(r.protocols) == 4


def test_rows_without_ticks_take_their_extremes_from_the_path() -> None:
    sim = MarketSimulator("crash")
    (row,) = simulated_rows(sim, DEFAULT_START + 72 * H, 1, tick_seconds=0)
    assert row.ticks == ()
    assert float(row.sol_low) == pytest.approx(
        sim.sol_range_f(row.time, row.close_time)[0], rel=1e-6
    )


@pytest.mark.parametrize(
    ("kw", "match"), [({"tick_seconds": 7}, "divide"), ({"hours": 0}, "positive")]
)
def test_bad_arguments_are_refused(kw: dict[str, int], match: str) -> None:
    args = {"hours": 1, **kw}
    hours = args.pop("hours")
    with pytest.raises(ValueError, match=match):
        simulated_rows(MarketSimulator(), DEFAULT_START, hours, **args)
    with pytest.raises(ValueError, match="on the hour"):
        simulated_rows(MarketSimulator(), DEFAULT_START + timedelta(minutes=1), 1)
