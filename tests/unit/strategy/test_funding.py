"""Funding statistics: hand-computed figures, the lookback, no look-ahead, and the running
window agreeing with the batch computation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy import FundingWindow, funding_stats
from tests.unit.strategy.builders import NOW, stats

D = Decimal


def test_mean_std_and_coefficient_of_variation_by_hand() -> None:
    s = stats(["0.00001", "0.00003", "0.00002", "0.00002"])
    assert s.hours == 4
    assert s.current == D("0.00002")
    assert s.mean == D("0.00002")
    # population variance: (1e-10 + 1e-10 + 0 + 0) / 4 = 5e-11
    assert s.std == D("5e-11").sqrt()
    assert s.volatility == s.std / D("0.00002")
    assert s.adverse_hours == 0
    assert s.mean_apy == D("0.1752")


def test_adverse_hours_count_the_latest_consecutive_negative_settlements() -> None:
    assert stats(["0.00002", "-0.00001", "0.00001", "-0.00001", "-0.00002"]).adverse_hours == 2
    assert stats(["-0.00001", "0"]).adverse_hours == 0  # zero is not a flip: nobody pays


def test_all_zero_rates_have_zero_volatility() -> None:
    assert stats(["0"] * 5).volatility == 0


def test_lookback_drops_settlements_older_than_the_window() -> None:
    s = stats(["-1"] + ["0.00002"] * 24, lookback=24)
    assert s.hours == 24
    assert s.mean == D("0.00002")


def test_settlements_after_as_of_are_ignored() -> None:
    points = [(NOW - timedelta(hours=1), D("0.1")), (NOW + timedelta(hours=1), D("0.9"))]
    s = funding_stats(points, NOW, lookback_hours=168)
    assert (s.hours, s.current) == (1, D("0.1"))


def test_no_history_gives_empty_statistics() -> None:
    s = funding_stats([], NOW, lookback_hours=168)
    assert (s.hours, s.current, s.latest_time) == (0, None, None)


def test_the_window_refuses_settlements_out_of_order() -> None:
    w = FundingWindow(24)
    w.add(NOW, D(1))
    with pytest.raises(ValueError, match="time order"):
        w.add(NOW, D(1))


rates = st.decimals(min_value=D("-0.001"), max_value=D("0.001"), places=8, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(rates, min_size=1, max_size=80), st.integers(min_value=1, max_value=40))
def test_running_window_equals_a_fresh_computation_at_every_hour(
    values: list[Decimal], lookback: int
) -> None:
    w = FundingWindow(lookback)
    points = []
    for i, r in enumerate(values):
        t = NOW + timedelta(hours=i)
        w.add(t, r)
        points.append((t, r))
        running = w.stats(t)
        fresh = funding_stats(points[-lookback:], t, lookback_hours=lookback)
        assert running.hours == fresh.hours == min(i + 1, lookback)
        assert running.mean == fresh.mean
        assert abs(running.std - fresh.std) <= D("1e-20")
        assert running.current == r
