"""The importers on the real exports in ../shared/data (skipped when the folder is absent):
units, orderings, regimes and the known traps of each file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from datasets import Source, align
from datasets.asgard import read_llama_pool, read_rates, read_staking
from datasets.cex import read_binance_hourly
from datasets.hyperliquid import (
    EIGHT_HOURS,
    HOURLY_FUNDING_FROM,
    read_candles,
    read_derived_funding_csv,
    read_funding_history,
    read_parquet,
)
from datasets.lst import implied_apy, read_exchange_rates
from tests.conftest import shared_path

D = Decimal
H = timedelta(hours=1)
HL = "joasgard_Basisfeasibility"
PQ = "PietroC21_Crypto-PerpetualFutures"
HL_PARQUET = "hyperliquid_SOL_2023-01-01_2026-03-07.parquet"


def _slice(src: Path, tmp: Path, take: slice) -> Path:
    """A small slice of a JSON-array export, written beside the test."""
    out = tmp / src.name
    out.write_text(json.dumps(json.loads(src.read_text())[take]))
    return out


def test_funding_history_is_hourly_exact_and_assigned_to_the_hour_it_settles(
    tmp_path: Path,
) -> None:
    path = _slice(shared_path("data", HL, "sol_funding_history.json"), tmp_path, slice(0, 48))
    s = read_funding_history(path)
    assert len(s.points) == 48
    first = s.points[0]
    # {"fundingRate": "0.0000125", "time": 1735675200076}: 76 ms after 2024-12-31 20:00
    assert first.known_at == datetime(2024, 12, 31, 20, tzinfo=UTC)
    assert first.value == D("0.0000125")
    assert first.valid_for == H
    assert all(b.known_at - a.known_at == H for a, b in zip(s.points, s.points[1:], strict=False))


def test_recorded_8_hour_era_funding_history_is_divided_by_8(tmp_path: Path) -> None:
    """A real mainnet fundingHistory answer from May 2023, when settlements were 8-hourly."""
    rec = yaml.safe_load(
        shared_path(
            "reference",
            "hyperliquid_info_recordings",
            "test_get_funding_history[1684811870000].yaml",
        ).read_text()
    )
    body = next(
        i["response"]["body"]["string"]
        for i in rec["interactions"]
        if "fundingHistory" in i["request"]["body"]
    )
    raw = json.loads(body)
    path = tmp_path / "btc_funding.json"
    path.write_text(body)
    s = read_funding_history(path, coin="BTC")
    assert len(s.points) == len(raw) > 10
    assert all(
        b.known_at - a.known_at == EIGHT_HOURS for a, b in zip(s.points, s.points[1:], strict=False)
    )
    assert s.points[0].value == D(raw[0]["fundingRate"]) / 8
    assert s.points[0].valid_for == EIGHT_HOURS
    assert any("divided by 8" in n for n in s.notes)


def test_a_newest_first_asgard_export_is_reordered_and_its_percent_made_decimal(
    tmp_path: Path,
) -> None:
    src = shared_path("data", HL, "asgard_drift_sol_hourly.json")
    path = _slice(src, tmp_path, slice(0, 24))
    newest = json.loads(path.read_text())[0]
    s = read_rates(path, "avgLendingRate", "drift SOL lend")
    assert any("newest first" in n for n in s.notes)
    last = s.points[-1]
    # the bucket 2026-02-17 08:00 averages that hour and is known at its end
    assert last.known_at == datetime(2026, 2, 17, 9, tzinfo=UTC)
    assert last.value == D(repr(newest["avgLendingRate"])) / 100
    assert D("0.01") < last.value < D("0.2")


def test_staking_apy_is_already_a_decimal_and_is_not_divided(tmp_path: Path) -> None:
    path = _slice(
        shared_path("data", HL, "asgard_jitosol_staking_hourly.json"), tmp_path, slice(0, 5)
    )
    s = read_staking(path, "jitoSOL staking")
    assert D("0.04") < s.points[-1].value < D("0.10")


def test_defillama_daily_rates_are_percent_and_known_at_their_snapshot(tmp_path: Path) -> None:
    path = _slice(
        shared_path("data", HL, "kamino_usdc_borrowing_rates.json"), tmp_path, slice(0, 3)
    )
    s = read_llama_pool(path, "apyBaseBorrow", "kamino USDC borrow")
    assert s.points[0].known_at == datetime(2023, 11, 18, 23, 1, 10, 926000, tzinfo=UTC)
    assert s.points[0].value == D("0.0304672")  # 3.04672 %
    assert s.points[0].valid_for == timedelta(days=1)


def test_stake_pool_rates_parse_every_timestamp_spelling_and_imply_a_plausible_apy(
    tmp_path: Path,
) -> None:
    src = shared_path("data", "glitchful-dev_sol-stake-pool-apy", "jito.csv")
    lines = src.read_text().splitlines()
    path = tmp_path / "jito.csv"
    path.write_text("\n".join(lines[:40]) + "\n")  # 'Z', 'Z' with ms and '+00:00' spellings
    rates = read_exchange_rates(path, "jito")
    assert rates.points[0].known_at == datetime(2023, 2, 16, 20, tzinfo=UTC)
    assert rates.points[1].known_at == datetime(2023, 2, 18, 15, 28, 9, 247000, tzinfo=UTC)
    apy = implied_apy(rates, "jito apy")
    assert apy.points and all(D("0.03") < p.value < D("0.12") for p in apy.points)


def test_the_parquet_8_hour_funding_is_divided_by_8_and_matches_the_derived_csv() -> None:
    funding, _ = read_parquet(shared_path("data", PQ, HL_PARQUET))
    eight = [p for p in funding.points if p.valid_for == EIGHT_HOURS]
    assert eight and all(p.known_at < HOURLY_FUNDING_FROM for p in eight)
    assert all(p.known_at.hour % 8 == 0 for p in eight)
    derived = read_derived_funding_csv(
        shared_path("data", "derived", "hl_SOL_funding_hourly_2023-05-12_2026-03-07.csv")
    )
    # Each derived row holds the latest settlement at or before its time (as of that time).
    hours = [t - H for t, _ in derived]
    values, _ = align("funding", hours, [Source(funding, EIGHT_HOURS)])
    assert values == [v for _, v in derived]
    assert len(derived) > 24_000
    first = derived[0]  # 2023-05-12 00:00: -0.0002365296 / 8
    assert first == (datetime(2023, 5, 12, tzinfo=UTC), D("-0.0000295662"))


def test_the_two_hyperliquid_funding_sources_agree_on_every_common_hour() -> None:
    funding, _ = read_parquet(shared_path("data", PQ, HL_PARQUET))
    history = read_funding_history(shared_path("data", HL, "sol_funding_history.json"))
    by_hour = {p.known_at: p.value for p in funding.points}
    common = [p for p in history.points if p.known_at in by_hour]
    assert len(common) == len(history.points) == 9807
    assert all(by_hour[p.known_at] == p.value for p in common)


def test_the_parquet_8_hour_candles_spread_over_hourly_rows_are_not_taken_as_hourly() -> None:
    _, bars = read_parquet(shared_path("data", PQ, HL_PARQUET))
    # The first genuinely hourly candle opens 2025-08-10 14:00 (known at its close).
    assert bars.points[0].known_at == datetime(2025, 8, 10, 15, tzinfo=UTC)
    assert any("8-hour candles" in n for n in bars.notes)


def test_binance_hourly_candles_are_known_at_their_close_and_match_hyperliquid_daily() -> None:
    spot = read_binance_hourly(
        shared_path("data", PQ, "binance_SOL_2020-08-11_2026-03-06.parquet"), "spot"
    )
    daily = read_candles(shared_path("data", HL, "sol_daily_candles.json"))
    assert daily.points[0].known_at == datetime(2024, 12, 31, tzinfo=UTC) + timedelta(days=1)
    by_close = {p.known_at: p.value for p in spot.points}
    day = daily.points[10]
    hours = [by_close[day.known_at - timedelta(days=1) + (i + 1) * H] for i in range(24)]
    # Binance's spot and Hyperliquid's perp close the day within 1%.
    assert abs(hours[-1].close / day.value.close - 1) < D("0.01")
    assert abs(max(h.high for h in hours) / day.value.high - 1) < D("0.02")
