"""Aligning series on the hourly grid: a row sees only what was known at its close, prefers
fresh values, and reports what it carried forward or could not fill."""

from __future__ import annotations

from datetime import timedelta

import pytest

from datasets import BuildError, Point, Source, align, build, series
from tests.datasets.synthetic import HOURS, T0, D, H, spec

MICRO = timedelta(microseconds=1)


def test_a_value_known_one_microsecond_after_the_close_is_not_in_that_hour() -> None:
    s = series("x", "t", [Point(T0, D(1)), Point(T0 + H + MICRO, D(2))])
    values, _ = align("x", [T0, T0 + H], [Source(s, 2 * H)])
    assert values == [D(1), D(2)]


def test_a_value_known_exactly_at_the_close_serves_that_hour() -> None:
    s = series("x", "t", [Point(T0 + H, D(7))])
    values, report = align("x", [T0], [Source(s, timedelta(0))])
    assert values == [D(7)]
    assert report.carried == {}


def test_values_older_than_their_period_are_carried_up_to_max_age_then_missing() -> None:
    s = series("x", "t", [Point(T0 + H, D(1))])
    hours = [T0 + i * H for i in range(5)]
    values, report = align("x", hours, [Source(s, 2 * H)])
    assert values == [D(1), D(1), D(1), None, None]
    assert report.served == {"x": 3}
    assert report.carried == {"x": 2}
    assert report.max_age_hours == {"x": 2.0}
    assert report.missing == [(T0 + 3 * H, T0 + 5 * H)]
    assert report.missing_hours == 2


def test_a_missing_hourly_settlement_is_a_gap_while_an_8_hour_one_spans_its_period() -> None:
    s = series(
        "funding",
        "t",
        [Point(T0 - 8 * H, D(1), 8 * H), Point(T0 + 2 * H, D(2)), Point(T0 + 4 * H, D(3))],
    )
    hours = [T0 - 8 * H + i * H for i in range(12)]
    values, report = align("funding", hours, [Source(s, 7 * H, within_period=True)])
    assert values[:7] == [D(1)] * 7  # the 8-hour rate stands for the 8 hours after it
    assert values[7:] == [None, None, D(2), None, D(3)]
    assert report.carried == {}
    assert report.missing_hours == 3


def test_a_fresh_value_from_a_later_source_beats_a_carried_one_from_an_earlier_source() -> None:
    hourly = series("hourly", "t", [Point(T0 + H, D(1))])
    daily = series("daily", "t", [Point(T0 + 2 * H, D(9), timedelta(days=1))])
    values, report = align("x", [T0, T0 + H], [Source(hourly, 6 * H), Source(daily, 48 * H)])
    assert values == [D(1), D(9)]
    assert report.served == {"hourly": 1, "daily": 1}


def test_a_series_is_sorted_and_a_repeated_instant_keeps_the_last_point_read() -> None:
    s = series("x", "t", [Point(T0 + H, D(2)), Point(T0, D(1)), Point(T0 + H, D(3))])
    assert [p.value for p in s.points] == [D(1), D(3)]
    assert any("duplicate" in n for n in s.notes)


def test_rows_take_the_funding_settled_at_their_close() -> None:
    ds = build(spec(funding_rates={5: D("0.0001")}))
    by_time = {r["time"]: r for r in ds.records}
    assert by_time[T0 + 4 * H]["funding_rate"] == D("0.0001")  # hour [4, 5) settles at 5
    assert by_time[T0 + 5 * H]["funding_rate"] == D("0.00003")


def test_the_default_span_runs_from_the_first_to_the_last_complete_hour() -> None:
    ds = build(spec())
    assert ds.records[0]["time"] == T0
    assert ds.records[-1]["time"] == T0 + (HOURS - 1) * H
    assert ds.report.hours == HOURS


def test_a_hole_in_a_required_column_is_refused_not_filled() -> None:
    s = spec()
    candles = s.sol[0].series
    holed = series("holed", "t", [p for i, p in enumerate(candles.points) if i != 50])
    broken = type(s)(
        sol=[Source(holed, timedelta(0))],
        perp=s.perp,
        funding=s.funding,
        protocols=s.protocols,
    )
    with pytest.raises(BuildError, match=r"1 hour\(s\).*2025-03-03 02:00"):
        build(broken)
